import type { SymbolicTensor } from '../../graph/ir.js';
import { samePadding, type Pads } from '../../graph/ops/conv.js';
import { groupedConv2d } from '../../graph/ops/grouped-conv.js';
import { add } from '../../graph/ops/elementwise.js';
import { reshape } from '../../graph/ops/reduce.js';
import type { ForwardContext } from '../context.js';
import { TUTORIAL_INIT, type Initializer } from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

/**
 * 'same' (MindSpore's default and TensorFlow's): output = ceil(input / stride), the extra pixel
 * of padding at the bottom/right. 'pad': explicit symmetric `padding`, as PyTorch. 'valid': none.
 */
export type PadMode = 'same' | 'pad' | 'valid';

export interface Conv2dOptions {
  stride?: number;
  padMode?: PadMode;
  padding?: number;
  weightInit?: Initializer;
  hasBias?: boolean;
  /** torch's `groups`: in and out channels split into this many groups; in = out = groups is a depthwise conv. */
  groups?: number;
}

export function resolvePads(padMode: PadMode, padding: number, height: number, width: number, kernel: number, stride: number): Pads {
  if (padMode === 'same') {
    const [top, bottom] = samePadding(height, kernel, stride);
    const [left, right] = samePadding(width, kernel, stride);
    return [top, left, bottom, right];
  }
  const p = padMode === 'pad' ? padding : 0;
  return [p, p, p, p];
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly stride: number;
  readonly padMode: PadMode;
  readonly padding: number;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: Conv2dOptions = {}) {
    super();
    this.stride = options.stride ?? 1;
    this.padMode = options.padMode ?? 'same';
    this.padding = options.padding ?? 0;
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`Conv2d: ${inChannels} input and ${outChannels} output channels do not split into ${this.groups} groups`);
    }
    const shape = [outChannels, inChannels / this.groups, kernelSize, kernelSize];
    this.weight = new Parameter(shape, undefined, { init: options.weightInit ?? TUTORIAL_INIT });
    this.bias = options.hasBias ? new Parameter([outChannels]) : undefined;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`${this.weight.name || 'Conv2d'} expects input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const pads = resolvePads(this.padMode, this.padding, x.shape[2]!, x.shape[3]!, this.kernelSize, this.stride);
    const y = groupedConv2d(ctx.g, x, ctx.parameter(this.weight), { stride: this.stride, pads, groups: this.groups });
    if (!this.bias) return y;
    const bias = reshape(ctx.g, ctx.parameter(this.bias), [1, this.outChannels, 1, 1]);
    return add(ctx.g, y, bias);
  }
}
