import type { SymbolicTensor } from '../../graph/ir.js';
import { dropout, stochasticDepth } from '../../graph/ops/stochastic.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';

/** Active only in training graphs of a module in training mode; the seed fixes its masks. */
function active(ctx: ForwardContext, module: Module, rate: number): boolean {
  return ctx.mode === 'train' && module.training && rate > 0;
}

/** torch.nn.Dropout(p). */
export class Dropout extends Module {
  constructor(readonly rate: number, readonly seed = 0) {
    super();
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return active(ctx, this, this.rate) ? dropout(ctx.g, x, this.rate, this.seed) : x;
  }
}

/** torchvision.ops.StochasticDepth(p, 'row'): a residual branch dropped per sample. */
export class StochasticDepth extends Module {
  constructor(readonly rate: number, readonly seed = 0) {
    super();
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return active(ctx, this, this.rate) ? stochasticDepth(ctx.g, x, this.rate, this.seed) : x;
  }
}
