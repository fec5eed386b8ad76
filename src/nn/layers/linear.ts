import type { SymbolicTensor } from '../../graph/ir.js';
import { dense } from '../../graph/ops/dense.js';
import { transpose } from '../../graph/ops/reduce.js';
import { reshapeFreeBatch } from '../../graph/ops/batch-reshape.js';
import type { ForwardContext } from '../context.js';
import { Dense } from './dense.js';
import { Module } from '../module.js';

/** torch.nn.Linear on the last axis of any tensor ([N, H, W, C] in ConvNeXt's blocks): one Gemm over the flattened rest. */
export class Linear extends Dense {
  override forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length === 2) return super.forward(ctx, x);
    const features = x.shape[x.shape.length - 1]!;
    if (features !== this.inChannels) throw new Error(`${this.weight.name || 'Linear'} expects ${this.inChannels} features on the last axis, got [${x.shape.join(', ')}]`);
    const rows = reshapeFreeBatch(ctx.g, x, [x.shape.slice(0, -1).reduce((a, b) => a * b, 1), features]);
    const y = dense(ctx.g, rows, ctx.parameter(this.weight), this.bias ? ctx.parameter(this.bias) : null);
    return reshapeFreeBatch(ctx.g, y, [...x.shape.slice(0, -1), this.outChannels]);
  }
}

/** torchvision.ops.Permute. */
export class Permute extends Module {
  constructor(readonly perm: readonly number[]) {
    super();
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return transpose(ctx.g, x, this.perm);
  }
}
