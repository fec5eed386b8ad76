/** The activations of the mobile families and ConvNeXt as modules (torch.nn.ReLU6, Hardswish, ...). */
import type { SymbolicTensor } from '../../graph/ir.js';
import { gelu, hardsigmoid, hardswish, relu6, sigmoid, silu } from '../../graph/ops/activations.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';

export class ReLU6 extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return relu6(ctx.g, x);
  }
}

export class Hardswish extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return hardswish(ctx.g, x);
  }
}

export class Hardsigmoid extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return hardsigmoid(ctx.g, x);
  }
}

export class Sigmoid extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return sigmoid(ctx.g, x);
  }
}

export class SiLU extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return silu(ctx.g, x);
  }
}

/** The exact (erf) GELU, torch.nn.GELU()'s default. */
export class GELU extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return gelu(ctx.g, x);
  }
}
