/**
 * ORT's blocked-layout CPU kernels (operator set com.microsoft.nchwc), which its optimizer only
 * uses for convs with constant weights: training graphs, whose weights are inputs, call them
 * directly where a standard formulation measured slower (grouped-conv.ts). A blocked tensor keeps
 * its NCHW shape [N, Cp, H, W] with Cp the channels rounded up to the block B (zeros beyond C),
 * but its data is ordered [N, Cp/B, H, W, B]; Reshape reinterprets that data, so a blocked tensor
 * may be regrouped as long as the B innermost values stay together. Only for graphs whose
 * `nchwcBlock` is set (runtime/nchwc.ts asked ORT for B); none of this exists in onnxruntime-web.
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export function roundUpToBlock(channels: number, block: number): number {
  return Math.ceil(channels / block) * block;
}

/** NCHW -> blocked [N, Cp, H, W]. */
export function reorderInput(g: Graph, x: T, block: number): T {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return g.emitIn(NCHWC_DOMAIN, 1, 'ReorderInput', [x], [n, roundUpToBlock(c, block), h, w]);
}

/** Blocked -> NCHW, keeping the first `channels`. */
export function reorderOutput(g: Graph, x: T, channels: number): T {
  const [n, , h, w] = x.shape as [number, number, number, number];
  return g.emitIn(NCHWC_DOMAIN, 1, 'ReorderOutput', [x], [n, channels, h, w], { channels });
}

/**
 * A depthwise filter [C, 1, kh, kw] in the layout the blocked Conv reads (MLAS's OIHWBo:
 * [Cp/B, 1, kh, kw, B]), zero-padded to Cp channels; declared as [Cp, 1, kh, kw].
 */
export function depthwiseFilter(g: Graph, w: T, block: number): T {
  const [c, , kh, kw] = w.shape as [number, number, number, number];
  const cp = roundUpToBlock(c, block);
  const padded = cp > c ? g.emit1('Pad', [w, g.constantInt64([0, 0, 0, 0, cp - c, 0, 0, 0])], [cp, 1, kh, kw]) : w;
  const grouped = p.reshape(g, padded, [cp / block, block, kh * kw]);
  return p.reshape(g, p.transpose(g, grouped, [0, 2, 1]), [cp, 1, kh, kw]);
}

export interface BlockedConvOptions {
  stride: number;
  /** Top, left, bottom, right. */
  pads: readonly [number, number, number, number];
  dilation?: number;
  group: number;
  outputSize: [number, number];
  /** Per output channel [Co], in channel order. */
  bias?: T;
}

/** The blocked Conv: x blocked [N, Cp, H, W], w in the blocked filter layout; output blocked. */
export function blockedConv(g: Graph, x: T, w: T, options: BlockedConvOptions): T {
  const [n] = x.shape as [number];
  const [co, , kh, kw] = w.shape as [number, number, number, number];
  const dilation = options.dilation ?? 1;
  return g.emitIn(NCHWC_DOMAIN, 1, 'Conv', options.bias ? [x, w, options.bias] : [x, w], [n, co, ...options.outputSize], {
    kernel_shape: [kh, kw], strides: [options.stride, options.stride], pads: [...options.pads], dilations: [dilation, dilation], group: options.group,
  });
}
