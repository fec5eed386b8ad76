import type { SymbolicTensor } from '../../graph/ir.js';
import { dense } from '../../graph/ops/dense.js';
import type { ForwardContext } from '../context.js';
import type { Initializer } from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

export interface DenseOptions {
  hasBias?: boolean;
  weightInit?: Initializer;
}

/** MindSpore's nn.Dense / torch.nn.Linear: weight [out, in]; torch's default uniform init. */
export class Dense extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;

  constructor(readonly inChannels: number, readonly outChannels: number, options: DenseOptions = {}) {
    super();
    const bound = 1 / Math.sqrt(inChannels);
    this.weight = new Parameter([outChannels, inChannels], undefined, { init: options.weightInit ?? { kind: 'uniform', bound } });
    if (options.hasBias ?? true) {
      this.bias = new Parameter([outChannels], undefined, { init: { kind: 'uniform', bound } });
    } else {
      this.bias = undefined;
    }
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length !== 2 || x.shape[1] !== this.inChannels) {
      throw new Error(`${this.weight.name || 'Dense'} expects input [N, ${this.inChannels}], got [${x.shape.join(', ')}]`);
    }
    return dense(ctx.g, x, ctx.parameter(this.weight), this.bias ? ctx.parameter(this.bias) : null);
  }
}
