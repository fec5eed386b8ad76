/**
 * 2-D convolution: forward, shape rule, padding conventions and backward, side by side.
 * Backward formulations are the ones measured fastest in ORT on CPU (see the engine notes):
 * dX by Conv with flipped transposed weights (stride 1) or ConvTranspose (stride > 1);
 * dW by im2col (strided slices + Concat + one batched MatMul).
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { engineTuning } from './tuning.js';
import { blockedConv, reorderInput, reorderOutput } from './nchwc.js';

type T = SymbolicTensor;

/** [top, left, bottom, right] */
export type Pads = [number, number, number, number];

/**
 * TensorFlow/MindSpore 'same': output = ceil(in / stride); the odd pixel of padding goes to
 * the bottom/right, which is what makes stride-2 layers differ from PyTorch's symmetric pads.
 */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const effectiveKernel = (kernel - 1) * dilation + 1;
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + effectiveKernel - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

export function convOutputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number): number {
  return Math.floor((size + padBegin + padEnd - kernel) / stride) + 1;
}

export interface Conv2dOptions {
  stride: number;
  pads: Pads;
}

/** What a conv2d call was given: BN folding (norm.ts) re-emits the conv with folded weights. */
export interface ConvCall {
  x: T;
  w: T;
  options: Conv2dOptions;
}
const convCalls = new WeakMap<Graph, Map<string, ConvCall>>();

/** The conv2d call (without bias) that produced `y`, if any. */
export function convProducing(g: Graph, y: T): ConvCall | undefined {
  return convCalls.get(g)?.get(y.name);
}

/** 2-D convolution, optionally with a per-channel bias [co] (what folded BN leaves behind). */
export function conv2d(g: Graph, x: T, w: T, options: Conv2dOptions, bias?: T): T {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [co, ci, kh, kw] = w.shape as [number, number, number, number];
  if (x.shape.length !== 4) throw new Error(`Conv2d expects an NCHW input, got shape [${x.shape.join(', ')}]`);
  if (c !== ci) throw new Error(`Conv2d with weight [${w.shape.join(', ')}] expects ${ci} input channels, got ${c} (input shape [${x.shape.join(', ')}])`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== co)) throw new Error(`Conv2d bias must be [${co}], got [${bias.shape.join(', ')}]`);
  const { stride, pads } = options;
  const ho = convOutputSize(h, kh, stride, pads[0], pads[2]);
  const wo = convOutputSize(wd, kw, stride, pads[1], pads[3]);
  if (ho <= 0 || wo <= 0) throw new Error(`Conv2d: input ${h}x${wd} is too small for a ${kh}x${kw} kernel`);
  // A trainable weight cannot be pre-packed by ORT, and its Conv runs one GEMM per image whose
  // width is that image's output positions: 49 in layer4, a shape MLAS runs at a fraction of its
  // speed. There one GEMM over the whole batch (im2col across images) is faster; the columns are
  // kept for the weight gradient. Constant weights (inference graphs) keep ORT's Conv.
  const columns = g.requiresGrad(w) && ho * wo <= engineTuning.foldMaxPositions && co >= engineTuning.foldMinChannels ? batchColumns(g, x, kh, kw, stride, pads, ho, wo) : null;
  const y = columns
    ? columnsTimesWeight(g, columns, w, n, ho, wo, bias)
    : convNode(g, x, w, stride, pads, [ho, wo], bias);
  const inputs = bias ? [x, w, bias] : [x, w];
  g.record(inputs, [y], ([dy]) => [
    g.requiresGrad(x) ? convInputGrad(g, dy!, x, w, options) : null,
    g.requiresGrad(w) ? (columns ? weightGradFromColumns(g, dy!, columns, w) : convWeightGrad(g, dy!, x, w, options)) : null,
    bias && g.requiresGrad(bias) ? p.reduceSum(g, dy!, [0, 2, 3], false) : null,
  ]);
  if (!bias) {
    const calls = convCalls.get(g) ?? new Map<string, ConvCall>();
    convCalls.set(g, calls);
    calls.set(y.name, { x, w, options });
  }
  return y;
}

/**
 * An ORT Conv node, or in training graphs on ORT's CPU (Graph.nchwcBlock set) with both channel
 * counts in whole blocks, the same conv on its NCHWc kernels, reorders in and out included (see
 * engineTuning.blockedConvMaxChannels for the measurement).
 */
function convNode(g: Graph, x: T, w: T, stride: number, pads: Pads, [ho, wo]: [number, number], bias?: T): T {
  const [n, ci] = x.shape as [number, number, number, number];
  const [co, , kh, kw] = w.shape as [number, number, number, number];
  const block = g.nchwcBlock;
  if (block > 0 && ci % block === 0 && co % block === 0 && Math.max(ci, co) <= engineTuning.blockedConvMaxChannels) {
    const blocked = blockedConv(g, reorderInput(g, x, block), blockedFilter(g, w, block), { stride, pads, group: 1, outputSize: [ho, wo], bias });
    return reorderOutput(g, blocked, co);
  }
  return g.emit1('Conv', bias ? [x, w, bias] : [x, w], [n, co, ho, wo], { kernel_shape: [kh, kw], strides: [stride, stride], pads: [pads[0], pads[1], pads[2], pads[3]] });
}

/** W [co, ci, kh, kw] in the layout ORT's blocked Conv reads (MLAS's OIHWBiBo: [co/B, ci/B, kh, kw, Bi, Bo]), declared as [co, ci, kh, kw]. */
function blockedFilter(g: Graph, w: T, block: number): T {
  const [co, ci, kh, kw] = w.shape as [number, number, number, number];
  const split = p.reshape(g, w, [co / block, block, ci / block, block, kh, kw]);
  return p.reshape(g, p.transpose(g, split, [0, 2, 4, 5, 3, 1]), [co, ci, kh, kw]);
}

/** Convs with at most this many output positions per image run as one batch-wide GEMM in training graphs. */
export const FOLD_MAX_POSITIONS = engineTuning.foldMaxPositions;

/**
 * im2col as one grouped Conv with constant one-hot kernels: [n, ci*kh*kw, ho, wo], channels
 * ordered like the weight's [ci, kh, kw]. One node (padding and stride included) where the
 * shifted-slice form takes a Pad, kh*kw Slices and a Concat.
 */
function oneHotColumns(g: Graph, x: T, kh: number, kw: number, stride: number, pads: Pads, ho: number, wo: number, reversed = false): T {
  const [n, ci] = x.shape as [number, number, number, number];
  const taps = kh * kw;
  const kernel = new Float32Array(ci * taps * taps);
  for (let c = 0; c < ci; c++) for (let t = 0; t < taps; t++) kernel[(c * taps + t) * taps + (reversed ? taps - 1 - t : t)] = 1;
  const onehot = g.constant(Array.from(kernel), [ci * taps, 1, kh, kw]);
  return g.emit1('Conv', [x, onehot], [n, ci * taps, ho, wo], { kernel_shape: [kh, kw], strides: [stride, stride], pads: [...pads], group: ci });
}

const oneHotApplies = (kh: number, kw: number) => engineTuning.im2col === 'one-hot-conv' && kh * kw > 1;

/**
 * Column order of the batch-wide im2col: 'nhw' is [ci*kh*kw, n*ho*wo], 'hwn' is
 * [ci*kh*kw, ho*wo*n], the batch innermost so each shifted window copies runs of wo*n floats
 * instead of wo (see engineTuning.columnOrder for the measurement).
 */
const batchInnermost = () => engineTuning.columnOrder === 'hwn';

/** [n, c, h, w] as [c, h, w, n]: [n, c*h*w] -> [c*h*w, n] is a plain 2-D transpose, which ORT runs through MLAS's blocked kernel. */
function toChwn(g: Graph, t: T): T {
  const [n, c, h, w] = t.shape as [number, number, number, number];
  return p.reshape(g, p.transpose(g, p.reshape(g, t, [n, c * h * w]), [1, 0]), [c, h, w, n]);
}

/** [n, c, h, w] as [c, columns] in the batch columns' order. */
export function channelsByColumns(g: Graph, t: T): T {
  const [n, c, h, w] = t.shape as [number, number, number, number];
  if (batchInnermost()) return p.reshape(g, toChwn(g, t), [c, h * w * n]);
  return p.reshape(g, p.transpose(g, t, [1, 0, 2, 3]), [c, n * h * w]);
}

/** [co, columns] back to [n, co, ho, wo]. */
function columnsToNchw(g: Graph, y2: T, n: number, ho: number, wo: number): T {
  const co = y2.shape[0]!;
  if (batchInnermost()) return p.reshape(g, p.transpose(g, p.reshape(g, y2, [co * ho * wo, n]), [1, 0]), [n, co, ho, wo]);
  return p.transpose(g, p.reshape(g, y2, [co, n, ho, wo]), [1, 0, 2, 3]);
}

/**
 * im2col across the batch: [ci*kh*kw, columns], rows ordered like the weight's [ci, kh, kw];
 * `reversed` enumerates the windows last to first, so that rows meet a spatially flipped weight.
 */
export function batchColumns(g: Graph, x: T, kh: number, kw: number, stride: number, pads: Pads, ho: number, wo: number, reversed = false): T {
  const [n, ci] = x.shape as [number, number, number, number];
  if (oneHotApplies(kh, kw)) return channelsByColumns(g, oneHotColumns(g, x, kh, kw, stride, pads, ho, wo, reversed));
  // [c, h, w, n] or [c, n, h, w]: either way the spatial axes follow the one the windows are cut from.
  const [channelsFirst, axis] = batchInnermost() ? [toChwn(g, x), 1] : [p.transpose(g, x, [1, 0, 2, 3]), 2];
  const parts = windows(g, p.pad2d(g, channelsFirst, pads, axis), kh, kw, stride, ho, wo, axis, reversed);
  return parts.length === 1
    ? p.reshape(g, parts[0]!, [ci, n * ho * wo])
    : p.reshape(g, p.concat(g, parts.map((part) => p.unsqueeze(g, part, 1)), 1), [ci * kh * kw, n * ho * wo]);
}

/** The conv output from batch columns: W [co, ci*kh*kw] x columns (+ bias), back to NCHW. */
function columnsTimesWeight(g: Graph, columns: T, w: T, n: number, ho: number, wo: number, bias?: T): T {
  const co = w.shape[0]!;
  const w2 = p.reshape(g, w, [co, columns.shape[0]!]);
  const y2 = bias ? g.emit1('Gemm', [w2, columns, p.reshape(g, bias, [co, 1])], [co, columns.shape[1]!]) : p.matmul(g, w2, columns);
  return columnsToNchw(g, y2, n, ho, wo);
}

function weightGradFromColumns(g: Graph, dy: T, columns: T, w: T): T {
  const co = w.shape[0]!;
  return p.reshape(g, g.emit1('Gemm', [channelsByColumns(g, dy), columns], [co, columns.shape[0]!], { transB: 1 }), w.shape);
}

function flippedTransposedWeight(g: Graph, w: T): T {
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const swapped = p.transpose(g, w, [1, 0, 2, 3]);
  if (kh === 1 && kw === 1) return swapped;
  // One Slice with step -1 on both spatial axes (it was two Gathers, each a full pass over the
  // weights). Ends of -k-1 resolve to "before index 0" in ONNX's rules for negative steps.
  return g.emit1('Slice', [swapped, g.constantInt64([kh - 1, kw - 1]), g.constantInt64([-kh - 1, -kw - 1]), g.constantInt64([2, 3]), g.constantInt64([-1, -1])], swapped.shape);
}

function convInputGrad(g: Graph, dy: T, x: T, w: T, { stride, pads }: Conv2dOptions): T {
  const [n, ci, h, wd] = x.shape as [number, number, number, number];
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  if (stride === 1) {
    const inputPads: Pads = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
    // Columns taken in reverse window order meet the weight unflipped: the flip (a Slice with
    // negative steps, element by element: 0.9-1.3 ms for [128, 128, 3, 3] in a loaded profile)
    // becomes a transpose of 9-float blocks. ORT's kernel time for the demo model's 10-image step
    // came out equal (42.3 ms both, 2026-12-01), with 9 nodes fewer.
    if (h * wd <= engineTuning.foldMaxPositions && ci >= engineTuning.dxFoldMinChannels) return columnsTimesWeight(g, batchColumns(g, dy, kh, kw, 1, inputPads, h, wd, true), p.transpose(g, w, [1, 0, 2, 3]), n, h, wd);
    return convNode(g, dy, flippedTransposedWeight(g, w), 1, inputPads, [h, wd]);
  }
  // output_padding restores the rows a strided forward conv dropped at the bottom/right.
  const outputPadding = [h - ((ho - 1) * stride + kh - pads[0] - pads[2]), wd - ((wo - 1) * stride + kw - pads[1] - pads[3])];
  return g.emit1('ConvTranspose', [dy, w], [n, ci, h, wd], {
    kernel_shape: [kh, kw], strides: [stride, stride], pads: [pads[0], pads[1], pads[2], pads[3]], output_padding: outputPadding,
  });
}

function convWeightGrad(g: Graph, dy: T, x: T, w: T, options: Conv2dOptions): T {
  const [n, ci, h, wd] = x.shape as [number, number, number, number];
  const [co, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  // Per-sample matmuls write n partial dW that a ReduceSum then adds up, and their inner
  // dimension is one image's positions (49 in layer4: a poor GEMM shape). Moving the batch into
  // the inner dimension costs two transposes instead; pick whichever moves fewer floats.
  const partials = n * co * ci * kh * kw;
  const transposed = n * (co * ho * wo + ci * h * wd);
  // With the batch innermost, windowed kernels' shifted copies are long runs either way and the
  // per-image slices are not; a 1x1 kernel has no copies to make, only the two transposes.
  const windowed = kh * kw > 1 && engineTuning.columnOrder === 'hwn' && engineTuning.dwBatchColumns;
  return windowed || transposed < partials ? convWeightGradFolded(g, dy, x, w, options) : convWeightGradPerSample(g, dy, x, w, options);
}

/** The kh*kw shifted, strided windows of a (padded) input, as the columns of an im2col; `axis` is its row axis. */
function windows(g: Graph, padded: T, kh: number, kw: number, stride: number, ho: number, wo: number, axis = 2, reversed = false): T[] {
  const parts: T[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const [i, j] = reversed ? [kh - 1 - a, kw - 1 - b] : [a, b];
      const whole = kh === 1 && kw === 1 && stride === 1 && padded.shape[axis] === ho && padded.shape[axis + 1] === wo;
      parts.push(whole ? padded : p.slice(g, padded, [axis, axis + 1], [i, j], [i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1], [stride, stride]));
    }
  }
  return parts;
}

/** im2col per image: [n, ci*kh*kw, ho*wo]. */
function perSampleColumns(g: Graph, x: T, kh: number, kw: number, stride: number, pads: Pads, ho: number, wo: number): T {
  const [n, ci] = x.shape as [number, number, number, number];
  const positions = ho * wo;
  if (oneHotApplies(kh, kw)) return p.reshape(g, oneHotColumns(g, x, kh, kw, stride, pads, ho, wo), [n, ci * kh * kw, positions]);
  const parts = windows(g, p.pad2d(g, x, pads), kh, kw, stride, ho, wo);
  return parts.length === 1
    ? p.reshape(g, parts[0]!, [n, ci, positions])
    : p.reshape(g, p.concat(g, parts.map((part) => p.unsqueeze(g, part, 2)), 2), [n, ci * kh * kw, positions]);
}

/** dW = sum over n of dY[n] x columns[n]^T, as one batched MatMul then a ReduceSum over n. */
function convWeightGradPerSample(g: Graph, dy: T, x: T, w: T, { stride, pads }: Conv2dOptions): T {
  const [n, ci] = x.shape as [number, number, number, number];
  const [co, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  const positions = ho * wo;
  const columns = perSampleColumns(g, x, kh, kw, stride, pads, ho, wo);
  const dy3 = p.reshape(g, dy, [n, co, positions]);
  const perSample = p.matmul(g, dy3, p.transpose(g, columns, [0, 2, 1]));
  return p.reshape(g, p.reduceSum(g, perSample, [0], false), [co, ci, kh, kw]);
}

/** dW = dY as [co, n*positions] times columns as [ci*kh*kw, n*positions]^T: one Gemm, the batch summed inside. */
function convWeightGradFolded(g: Graph, dy: T, x: T, w: T, { stride, pads }: Conv2dOptions): T {
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const [, , ho, wo] = dy.shape as [number, number, number, number];
  return weightGradFromColumns(g, dy, batchColumns(g, x, kh, kw, stride, pads, ho, wo), w);
}
