import type { SymbolicTensor } from '../../graph/ir.js';
import { channelGate } from '../../graph/ops/channel-gate.js';
import { dense } from '../../graph/ops/dense.js';
import { reshape } from '../../graph/ops/reduce.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';
import { Conv2d } from './conv2d.js';

/**
 * torchvision.ops.SqueezeExcitation: scale = sigma(fc2(delta(fc1(avgpool(x))))), y = scale * x.
 * fc1/fc2 are 1x1 convs in torch (their weights load as [out, in, 1, 1]); on a 1x1 map they run
 * as one Gemm each, cheaper than a Conv whose im2col has one position per image.
 */
export class SqueezeExcitation extends Module {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;

  constructor(readonly inputChannels: number, readonly squeezeChannels: number, readonly activation: Module, readonly scaleActivation: Module) {
    super();
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1, { hasBias: true, padMode: 'pad', weightInit: { kind: 'he-normal', mode: 'fan-out' } });
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1, { hasBias: true, padMode: 'pad', weightInit: { kind: 'he-normal', mode: 'fan-out' } });
  }

  private pointwise(ctx: ForwardContext, conv: Conv2d, x: SymbolicTensor): SymbolicTensor {
    const weight = reshape(ctx.g, ctx.parameter(conv.weight), [conv.outChannels, conv.inChannels]);
    return dense(ctx.g, x, weight, ctx.parameter(conv.bias!));
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return channelGate(ctx.g, x, (pooled) => {
      let scale = this.pointwise(ctx, this.fc1, pooled);
      scale = this.activation.forward(ctx, scale);
      scale = this.pointwise(ctx, this.fc2, scale);
      return this.scaleActivation.forward(ctx, scale);
    });
  }
}
