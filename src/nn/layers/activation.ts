/** Parameter-free layers: the activations (torch.nn.ReLU, ReLU6, Hardswish, ...), Flatten and Identity. */
import type { Graph } from '../../graph/graph.js';
import type { SymbolicTensor } from '../../graph/ir.js';
import { gelu, hardsigmoid, hardswish, relu6, sigmoid, silu } from '../../graph/ops/activations.js';
import { relu } from '../../graph/ops/elementwise.js';
import { flatten } from '../../graph/ops/reduce.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';

/** A layer that applies one graph op to its input (each op carries its own backward). */
class Applying extends Module {
  constructor(private readonly op: (g: Graph, x: SymbolicTensor) => SymbolicTensor) {
    super();
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return this.op(ctx.g, x);
  }
}

export class ReLU extends Applying { constructor() { super(relu); } }
export class ReLU6 extends Applying { constructor() { super(relu6); } }
export class Hardswish extends Applying { constructor() { super(hardswish); } }
export class Hardsigmoid extends Applying { constructor() { super(hardsigmoid); } }
export class Sigmoid extends Applying { constructor() { super(sigmoid); } }
export class SiLU extends Applying { constructor() { super(silu); } }
/** The exact (erf) GELU, torch.nn.GELU()'s default. */
export class GELU extends Applying { constructor() { super(gelu); } }
export class Flatten extends Applying { constructor() { super(flatten); } }

export class Identity extends Module {
  forward(_ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return x;
  }
}
