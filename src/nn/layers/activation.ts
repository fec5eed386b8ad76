import type { SymbolicTensor } from '../../graph/ir.js';
import { relu } from '../../graph/ops/elementwise.js';
import { flatten } from '../../graph/ops/reduce.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return relu(ctx.g, x);
  }
}

export class Flatten extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return flatten(ctx.g, x);
  }
}

export class Identity extends Module {
  forward(_ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return x;
  }
}
