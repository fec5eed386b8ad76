import type { SymbolicTensor } from '../../graph/ir.js';
import { layerNorm } from '../../graph/ops/layer-norm.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

/** torch.nn.LayerNorm(dim) over the last axis (channels-last tensors); weight/bias as torch names them. */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly numFeatures: number, readonly eps = 1e-5) {
    super();
    this.weight = new Parameter([numFeatures], new Float32Array(numFeatures).fill(1));
    this.bias = new Parameter([numFeatures]);
  }

  protected normalize(ctx: ForwardContext, x: SymbolicTensor, axis: number): SymbolicTensor {
    if (x.shape[axis] !== this.numFeatures) {
      throw new Error(`${this.weight.name || 'LayerNorm'} normalizes ${this.numFeatures} features, got input [${x.shape.join(', ')}]`);
    }
    return layerNorm(ctx.g, x, ctx.parameter(this.weight), ctx.parameter(this.bias), this.eps, axis);
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return this.normalize(ctx, x, x.shape.length - 1);
  }
}

/** torchvision's LayerNorm2d: LayerNorm over the channels of an NCHW tensor. */
export class LayerNorm2d extends LayerNorm {
  override forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length !== 4) throw new Error(`${this.weight.name || 'LayerNorm2d'} expects an NCHW input, got [${x.shape.join(', ')}]`);
    return this.normalize(ctx, x, 1);
  }
}
