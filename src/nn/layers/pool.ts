import type { SymbolicTensor } from '../../graph/ir.js';
import { avgPool2d, globalAvgPool, maxPool2d } from '../../graph/ops/pool.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';
import { resolvePads, type PadMode } from './conv2d.js';

export interface Pool2dOptions {
  stride?: number;
  padMode?: PadMode;
  padding?: number;
}

abstract class Pool2d extends Module {
  readonly stride: number;
  readonly padMode: PadMode;
  readonly padding: number;

  constructor(readonly kernelSize: number, options: Pool2dOptions) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padMode = options.padMode ?? 'valid';
    this.padding = options.padding ?? 0;
  }

  protected window(x: SymbolicTensor) {
    if (x.shape.length !== 4) throw new Error(`pooling expects an NCHW input, got [${x.shape.join(', ')}]`);
    return { kernel: this.kernelSize, stride: this.stride, pads: resolvePads(this.padMode, this.padding, x.shape[2]!, x.shape[3]!, this.kernelSize, this.stride) };
  }
}

/** The tutorial's stem: MaxPool2d(kernel_size=3, stride=2, pad_mode='same'). */
export class MaxPool2d extends Pool2d {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return maxPool2d(ctx.g, x, this.window(x));
  }
}

/** MindSpore's nn.AvgPool2d(kernel_size=k): stride defaults to the kernel, no padding. */
export class AvgPool2d extends Pool2d {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return avgPool2d(ctx.g, x, this.window(x));
  }
}

/** Average over the whole feature map, whatever its size. */
export class GlobalAvgPool2d extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length !== 4) throw new Error(`global pooling expects an NCHW input, got [${x.shape.join(', ')}]`);
    return globalAvgPool(ctx.g, x);
  }
}
