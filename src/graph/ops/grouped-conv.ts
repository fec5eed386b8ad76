/**
 * Grouped and depthwise 2-D convolution (MobileNet, EfficientNet, ConvNeXt): forward beside
 * backward. groups = 1 is the dense conv2d of conv.ts; depthwise (groups = in = out channels)
 * has its own backward; any other grouping runs one dense conv2d per group.
 *
 * Formulations chosen by bench/depthwise.ts (onnxruntime-node 1.30, 2 threads, AMD EPYC with
 * AVX-512, shared machine at load ~1.9; batch 8; ms per backward of one layer, median of 7 and of 9,
 * two runs shown as a/b):
 *
 *                            c96 56px k3 s1  c144 56px k3 s2  c672 14px k5 s1  c240 28px k5 s2  c768 14px k7 s1
 *   dX Conv, flipped kernel     9.4 / 9.0          -            18.4 / 7.6           -           16.5 / 12.8
 *   dX ConvTranspose           11.0 / 10.5     7.7 / 6.5       14.0 / 14.5      5.4 / 5.5      28.1 / 28.2
 *   dX zero-dilated dY + Conv       -          17.3 / 17.2          -           10.0 / 19.6          -
 *   dW roles swapped (Conv)    15.5 / 29.5     7.8 / 16.0      11.9 / 21.1      5.6 / 9.2      17.6 / 24.6
 *   dW shifted slices          40.3 / 13.6    49.3 / 17.8      71.2 / 19.8     53.0 / 23.7    204.4 / 52.9
 *   dW stacked windows         23.5 / 31.2    18.1 / 44.1      36.5 / 68.2     24.3 / 44.1     77.5 / 188.4
 *
 * So dX is a depthwise Conv with the flipped kernel at stride 1 and ConvTranspose at stride 2,
 * and dW is the "roles swapped" conv: the input as [1, N*C, H, W] with dY as an N*C-group
 * kernel (dilated by the stride), then a sum over N. (For dense convs that trick lost to im2col;
 * a depthwise kernel has no channel reduction for im2col's GEMM to win on.)
 *
 * A later run (2026-12-01 12:55, a slower window: compare within the row) added MobileNetV3's
 * 112 px layers and dW from conv2d's batch-innermost columns (x as [c, h, w, n], the k*k windows
 * stacked per channel, one batched MatMul with dY as [c, ho*wo*n, 1]), which wins at stride 1 up to
 * 3x3 and is used there:
 *
 *                       c16 112 k3 s1  c64 112 k3 s2  c96 56 k3 s1  c144 56 k3 s2  c672 14 k5 s1  c240 28 k5 s2  c768 14 k7 s1
 *   dW roles swapped        34.3           28.0           41.2           21.1           28.7           14.2           45.2
 *   dW batch columns        23.8           39.9           33.4           40.0           28.7           21.8           68.5
 *
 * All of the above are ORT's generic grouped Conv, which loops over the groups. With trainable
 * weights (graph inputs) ORT never moves a conv to its blocked NCHWc kernels, whose depthwise conv
 * vectorizes across a block of channels; calling them directly (nchwc.ts) won at every layer
 * (`bench/depthwise.js --layers --iters 9`, 2026-12-01 14:55, shared machine at load ~4: rough;
 * y + dX + dW of one layer, batch 8, min / median ms):
 *
 *                      c16 112 k3 s1  c64 112 k3 s2  c96 112 k3 s2  c144 56 k5 s2  c120 28 k5 s1  c672 14 k5 s1  c1152 7 k5 s1
 *   standard ops         37 / 67        90 / 134      127 / 179      104 / 132       38 / 52        91 / 116       36 / 60
 *   NCHWc kernels       4.9 / 17        44 / 59        79 / 107       36 / 39        9.6 / 15       12 / 24       7.3 / 9.2
 *
 * and the MobileNetV3-Large b8 training step went 1241 -> 816 ms (bench/ab-step.js, 3 alternating
 * runs each, load 2.6-3.8). So with `Graph.nchwcBlock` set (TrainStep on the CPU) depthwise convs
 * with trainable weights run blocked; the formulations above remain for other engines.
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { batchColumns, channelsByColumns, conv2d, convOutputSize, type Pads } from './conv.js';
import { blockedConv, depthwiseFilter, reorderInput, reorderOutput, roundUpToBlock } from './nchwc.js';

type T = SymbolicTensor;

export interface GroupedConv2dOptions {
  stride: number;
  pads: Pads;
  groups: number;
}

export type DepthwiseInputGrad = 'conv-flipped' | 'conv-transpose' | 'dilate-conv';
export type DepthwiseWeightGrad = 'swapped-conv' | 'slices' | 'stacked-windows' | 'batch-columns';

/**
 * Which formulation depthwise convs emit; bench/depthwise.ts switches them to measure. `layout`
 * 'blocked' (what 'auto' picks in graphs whose nchwcBlock is set, for trainable weights) runs the
 * forward, dX and dW on ORT's NCHWc kernels and ignores the other two; 'nchw' keeps standard ops.
 */
export const depthwiseFormulation: { inputGrad: DepthwiseInputGrad | 'auto'; weightGrad: DepthwiseWeightGrad | 'auto'; layout: 'auto' | 'nchw' | 'blocked' } = {
  inputGrad: 'auto',
  weightGrad: 'auto',
  layout: 'auto',
};

function convAttributes(kernel: [number, number], stride: number, pads: Pads, group: number, dilation = 1) {
  return { kernel_shape: kernel, strides: [stride, stride], pads: [pads[0], pads[1], pads[2], pads[3]], group, dilations: [dilation, dilation] };
}

export function groupedConv2d(g: Graph, x: T, w: T, options: GroupedConv2dOptions): T {
  const { groups, stride, pads } = options;
  if (groups === 1) return conv2d(g, x, w, { stride, pads });
  if (x.shape.length !== 4) throw new Error(`grouped Conv2d expects an NCHW input, got shape [${x.shape.join(', ')}]`);
  const [, c] = x.shape as [number, number, number, number];
  const [co, ciPerGroup] = w.shape as [number, number, number, number];
  if (c % groups !== 0 || co % groups !== 0 || ciPerGroup * groups !== c) {
    throw new Error(`Conv2d with ${groups} groups and weight [${w.shape.join(', ')}] expects ${ciPerGroup * groups} input channels, got ${c} (input shape [${x.shape.join(', ')}])`);
  }
  if (co === c && ciPerGroup === 1) return depthwiseConv2d(g, x, w, stride, pads);
  return perGroupConv2d(g, x, w, options);
}

/** Each group as its own dense conv on a channel slice; the slices and the concat carry their own backward. */
function perGroupConv2d(g: Graph, x: T, w: T, { groups, stride, pads }: GroupedConv2dOptions): T {
  const ci = x.shape[1]! / groups;
  const co = w.shape[0]! / groups;
  const outputs: T[] = [];
  for (let k = 0; k < groups; k++) {
    const xk = channelSlice(g, x, k * ci, (k + 1) * ci);
    const wk = channelSlice(g, w, k * co, (k + 1) * co, 0);
    outputs.push(conv2d(g, xk, wk, { stride, pads }));
  }
  return channelConcat(g, outputs);
}

function channelSlice(g: Graph, x: T, start: number, end: number, axis = 1): T {
  const y = p.slice(g, x, [axis], [start], [end], [1]);
  g.record([x], [y], ([dy]) => {
    const before = [...x.shape];
    before[axis] = start;
    const after = [...x.shape];
    after[axis] = x.shape[axis]! - end;
    const parts = [before, after].map((shape) => g.constant(new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape));
    return [p.concat(g, [parts[0]!, dy!, parts[1]!].filter((t) => t.shape[axis]! > 0), axis)];
  });
  return y;
}

function channelConcat(g: Graph, parts: T[]): T {
  const y = p.concat(g, parts, 1);
  g.record(parts, [y], ([dy]) => {
    let start = 0;
    return parts.map((part) => {
      const end = start + part.shape[1]!;
      const piece = p.slice(g, dy!, [1], [start], [end], [1]);
      start = end;
      return piece;
    });
  });
  return y;
}

function depthwiseConv2d(g: Graph, x: T, w: T, stride: number, pads: Pads): T {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const ho = convOutputSize(h, kh, stride, pads[0], pads[2]);
  const wo = convOutputSize(wd, kw, stride, pads[1], pads[3]);
  if (ho <= 0 || wo <= 0) throw new Error(`depthwise Conv2d: input ${h}x${wd} is too small for a ${kh}x${kw} kernel`);
  const blocked = depthwiseFormulation.layout === 'blocked' || (depthwiseFormulation.layout === 'auto' && g.requiresGrad(w));
  // ORT's ReorderInput takes whole groups of 4 channels (every torchvision model's depthwise convs have them).
  if (blocked && g.nchwcBlock > 0 && c % 4 === 0) return blockedDepthwiseConv2d(g, x, w, stride, pads, [ho, wo], g.nchwcBlock);
  const y = g.emit1('Conv', [x, w], [n, c, ho, wo], convAttributes([kh, kw], stride, pads, c));
  g.record([x, w], [y], ([dy]) => [
    g.requiresGrad(x) ? depthwiseInputGrad(g, dy!, x, w, stride, pads) : null,
    g.requiresGrad(w) ? depthwiseWeightGrad(g, dy!, x, w, stride, pads) : null,
  ]);
  return y;
}

function flipped(g: Graph, w: T): T {
  const [, , kh, kw] = w.shape as [number, number, number, number];
  if (kh === 1 && kw === 1) return w;
  return g.emit1('Slice', [w, g.constantInt64([kh - 1, kw - 1]), g.constantInt64([-kh - 1, -kw - 1]), g.constantInt64([2, 3]), g.constantInt64([-1, -1])], w.shape);
}

export function depthwiseInputGrad(g: Graph, dy: T, x: T, w: T, stride: number, pads: Pads): T {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  const choice = depthwiseFormulation.inputGrad === 'auto' ? (stride === 1 ? 'conv-flipped' : 'conv-transpose') : depthwiseFormulation.inputGrad;
  // Rows and columns a strided forward conv never reached at the bottom/right.
  const extraH = h - ((ho - 1) * stride + kh - pads[0] - pads[2]);
  const extraW = wd - ((wo - 1) * stride + kw - pads[1] - pads[3]);
  if (choice === 'conv-transpose') {
    return g.emit1('ConvTranspose', [dy, w], [n, c, h, wd], { ...convAttributes([kh, kw], stride, pads, c), output_padding: [extraH, extraW] });
  }
  const inputPads: Pads = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2] + extraH, kw - 1 - pads[3] + extraW];
  const spread = stride === 1 ? dy : dilate(g, dy, stride);
  return g.emit1('Conv', [spread, flipped(g, w)], [n, c, h, wd], convAttributes([kh, kw], 1, inputPads, c));
}

/** dY with stride-1 zeros between its entries: [n, c, (ho-1)s+1, (wo-1)s+1]. */
function dilate(g: Graph, dy: T, stride: number): T {
  const [n, c, ho, wo] = dy.shape as [number, number, number, number];
  const zeros = g.constant(new Array(n * c * ho * wo * (stride - 1)).fill(0), [n, c, ho, wo * (stride - 1)]);
  const rows = p.reshape(g, p.concat(g, [p.reshape(g, dy, [n, c, ho, wo, 1]), p.reshape(g, zeros, [n, c, ho, wo, stride - 1])], 4), [n, c, ho, wo * stride]);
  const widened = p.slice(g, rows, [3], [0], [(wo - 1) * stride + 1], [1]);
  const width = (wo - 1) * stride + 1;
  const zeroRows = g.constant(new Array(n * c * ho * width * (stride - 1)).fill(0), [n, c, ho, stride - 1, width]);
  const tall = p.reshape(g, p.concat(g, [p.reshape(g, widened, [n, c, ho, 1, width]), zeroRows], 3), [n, c, ho * stride, width]);
  return p.slice(g, tall, [2], [0], [(ho - 1) * stride + 1], [1]);
}

export function depthwiseWeightGrad(g: Graph, dy: T, x: T, w: T, stride: number, pads: Pads): T {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  // 'auto': batch-innermost columns for stride 1 up to 3x3, roles swapped otherwise (the table above).
  const choice = depthwiseFormulation.weightGrad !== 'auto' ? depthwiseFormulation.weightGrad : stride === 1 && kh * kw <= 9 ? 'batch-columns' : 'swapped-conv';
  if (choice === 'batch-columns') {
    // conv2d's batch-wide im2col (batch innermost: runs of wo*n floats per window) regrouped per
    // channel, times dY in the same column order: one batched MatMul, the batch summed inside.
    const columns = p.reshape(g, batchColumns(g, x, kh, kw, stride, pads, ho, wo), [c, kh * kw, ho * wo * n]);
    return p.reshape(g, p.matmul(g, columns, p.reshape(g, channelsByColumns(g, dy), [c, ho * wo * n, 1])), w.shape);
  }
  const padded = p.pad2d(g, x, pads);
  // The part of the padded input a window can reach; a strided conv may leave the last rows unread.
  const reachH = (ho - 1) * stride + kh;
  const reachW = (wo - 1) * stride + kw;
  const used = padded.shape[2] === reachH && padded.shape[3] === reachW ? padded : p.slice(g, padded, [2, 3], [0, 0], [reachH, reachW], [1, 1]);
  switch (choice) {
    case 'swapped-conv': {
      // out[0, n*c, i, j] = sum_hw used[n, c, i + s*h, j + s*w] * dy[n, c, h, w]: dY is the kernel, dilated by the stride.
      const input = p.reshape(g, used, [1, n * c, reachH, reachW]);
      const kernel = p.reshape(g, dy, [n * c, 1, ho, wo]);
      const perSample = g.emit1('Conv', [input, kernel], [1, n * c, kh, kw], convAttributes([ho, wo], 1, [0, 0, 0, 0], n * c, stride));
      return p.reshape(g, p.reduceSum(g, p.reshape(g, perSample, [n, c, kh, kw]), [0], false), w.shape);
    }
    case 'slices': {
      const taps: T[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const window = p.slice(g, used, [2, 3], [i, j], [i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1], [stride, stride]);
          taps.push(p.reduceSum(g, p.mul(g, window, dy), [0, 2, 3], false));
        }
      }
      return p.reshape(g, p.concat(g, taps.map((t) => p.reshape(g, t, [c, 1])), 1), w.shape);
    }
    case 'stacked-windows': {
      const windows: T[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          windows.push(p.unsqueeze(g, p.slice(g, used, [2, 3], [i, j], [i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1], [stride, stride]), 2));
        }
      }
      const stacked = p.concat(g, windows, 2);
      const products = p.mul(g, stacked, p.unsqueeze(g, dy, 2));
      return p.reshape(g, p.reduceSum(g, products, [0, 3, 4], false), w.shape);
    }
  }
}

/**
 * The depthwise conv on ORT's NCHWc kernels (nchwc.ts), forward and backward. The blocked input
 * serves the forward and dW, the blocked dY serves dX and dW (as dW's kernel it is already in the
 * filter layout: [N*Cp/B, 1, ho, wo, B] is dY's blocked data). dW is the "roles swapped" conv
 * below, dX the flipped-kernel conv, at stride 2 over dY spread out with zeros in the blocked layout.
 */
function blockedDepthwiseConv2d(g: Graph, x: T, w: T, stride: number, pads: Pads, [ho, wo]: [number, number], block: number): T {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const cp = roundUpToBlock(c, block);
  const xb = reorderInput(g, x, block);
  const y = reorderOutput(g, blockedConv(g, xb, depthwiseFilter(g, w, block), { stride, pads, group: cp, outputSize: [ho, wo] }), c);
  g.record([x, w], [y], ([dy]) => {
    const dyb = reorderInput(g, dy!, block);
    let dx: T | null = null;
    if (g.requiresGrad(x)) {
      // Rows and columns a strided forward conv never reached at the bottom/right.
      const extraH = h - ((ho - 1) * stride + kh - pads[0] - pads[2]);
      const extraW = wd - ((wo - 1) * stride + kw - pads[1] - pads[3]);
      // dY spread to [ho*s, wo*s] (each entry then s-1 zeros), so the conv pads its end less by s-1.
      const inputPads: Pads = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2] + extraH - (stride - 1), kw - 1 - pads[3] + extraW - (stride - 1)];
      if (inputPads.every((q) => q >= 0)) {
        const spread = stride === 1 ? dyb : p.reshape(g, g.emit1('Pad', [p.reshape(g, dyb, [n * cp / block, ho, 1, wo, 1, block]), g.constantInt64([0, 0, 0, 0, 0, 0, 0, 0, stride - 1, 0, stride - 1, 0])], [n * cp / block, ho, stride, wo, stride, block]), [n, cp, ho * stride, wo * stride]);
        dx = reorderOutput(g, blockedConv(g, spread, depthwiseFilter(g, flipped(g, w), block), { stride: 1, pads: inputPads, group: cp, outputSize: [h, wd] }), c);
      } else {
        dx = depthwiseInputGrad(g, dy!, x, w, stride, pads);
      }
    }
    let dw: T | null = null;
    if (g.requiresGrad(w)) {
      // out[0, n*Cp, i, j] = sum_hw xpadded[n, c, i + s*h, j + s*w] * dy[n, c, h, w]: dY as the kernel, dilated by the stride;
      // the end pads make the output exactly kh x kw (a strided conv may leave the last rows unread, then unpadded).
      const endH = kh + stride * (ho - 1) - h - pads[0];
      const endW = kw + stride * (wo - 1) - wd - pads[1];
      if (endH >= 0 && endW >= 0) {
        const perSample = blockedConv(g, p.reshape(g, xb, [1, n * cp, h, wd]), p.reshape(g, dyb, [n * cp, 1, ho, wo]), { stride: 1, pads: [pads[0], pads[1], endH, endW], dilation: stride, group: n * cp, outputSize: [kh, kw] });
        // Blocked data [n, Cp/B, kh, kw, B]: sum over n, then back to [Cp, 1, kh, kw].
        const summed = p.reduceSum(g, p.reshape(g, perSample, [n, cp / block, kh * kw, block]), [0], false);
        const filter = p.reshape(g, p.transpose(g, summed, [0, 2, 1]), [cp, 1, kh, kw]);
        dw = cp > c ? p.slice(g, filter, [0], [0], [c], [1]) : filter;
      } else {
        dw = depthwiseWeightGrad(g, dy!, x, w, stride, pads);
      }
    }
    return [dx, dw];
  });
  return y;
}
