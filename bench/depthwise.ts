/**
 * Depthwise-conv backward formulations, timed in onnxruntime-node on layer shapes of
 * MobileNetV3, EfficientNet-B0 and ConvNeXt-T at 224 px, batch 8. Chose the defaults in
 * src/graph/ops/grouped-conv.ts (the table in its header comment comes from this script).
 *
 * `--layers` times whole layers instead (forward, dX and dW of one conv in one graph) on the
 * standard ops and on ORT's NCHWc kernels (nchwc.ts), min and median per layer.
 *
 *   node dist/bench/depthwise.js [--iters 7] [--layers]
 */
import * as os from 'node:os';
import { Graph } from '../src/graph/graph.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { depthwiseFormulation, depthwiseInputGrad, depthwiseWeightGrad, groupedConv2d, type DepthwiseInputGrad, type DepthwiseWeightGrad } from '../src/graph/ops/grouped-conv.js';
import { gradients } from '../src/graph/autodiff.js';
import { nchwcBlockSize } from '../src/runtime/nchwc.js';
import { convOutputSize } from '../src/graph/ops/conv.js';
import { Session } from '../src/runtime/session.js';
import { cpuDescription, median, option } from './common.js';

const BATCH = 8;
/** The whole-layer comparison adds EfficientNet-B0's widest layers and MobileNetV3's 5x5 ones. */
const WHOLE_LAYERS = [
  { c: 16, size: 112, k: 3, stride: 1 },
  { c: 64, size: 112, k: 3, stride: 2 },
  { c: 96, size: 112, k: 3, stride: 2 },
  { c: 72, size: 56, k: 5, stride: 2 },
  { c: 144, size: 56, k: 5, stride: 2 },
  { c: 120, size: 28, k: 5, stride: 1 },
  { c: 240, size: 28, k: 3, stride: 2 },
  { c: 672, size: 14, k: 5, stride: 1 },
  { c: 672, size: 14, k: 5, stride: 2 },
  { c: 1152, size: 7, k: 5, stride: 1 },
];
const LAYERS = [
  { c: 16, size: 112, k: 3, stride: 1 },
  { c: 64, size: 112, k: 3, stride: 2 },
  { c: 96, size: 56, k: 3, stride: 1 },
  { c: 144, size: 56, k: 3, stride: 2 },
  { c: 672, size: 14, k: 5, stride: 1 },
  { c: 240, size: 28, k: 5, stride: 2 },
  { c: 768, size: 14, k: 7, stride: 1 },
];

/** One session per formulation of one layer's dX or dW; timed round robin so load changes hit all alike. */
async function build(layer: (typeof LAYERS)[number], which: 'dX' | 'dW', formulation: string) {
  const pad = (layer.k - 1) / 2;
  const out = convOutputSize(layer.size, layer.k, layer.stride, pad, pad);
  const g = new Graph();
  const x = g.input('x', [BATCH, layer.c, layer.size, layer.size]);
  const w = g.input('w', [layer.c, 1, layer.k, layer.k]);
  const dy = g.input('dy', [BATCH, layer.c, out, out]);
  if (which === 'dX') depthwiseFormulation.inputGrad = formulation as DepthwiseInputGrad;
  else depthwiseFormulation.weightGrad = formulation as DepthwiseWeightGrad;
  const pads: [number, number, number, number] = [pad, pad, pad, pad];
  try {
    g.output(which === 'dX' ? depthwiseInputGrad(g, dy, x, w, layer.stride, pads) : depthwiseWeightGrad(g, dy, x, w, layer.stride, pads), 'out');
  } finally {
    depthwiseFormulation.inputGrad = 'auto';
    depthwiseFormulation.weightGrad = 'auto';
  }
  // Sessions take turns here: spinning threads of an idle one would slow the running one (session.ts).
  const session = await Session.create(serializeGraph(g), { threads: 2, spinning: false });
  const fill = (shape: readonly number[]) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), shape: [...shape] });
  const feeds = { x: fill(x.shape), w: fill(w.shape), dy: fill(dy.shape) };
  return { session, feeds };
}

async function timeRoundRobin(layer: (typeof LAYERS)[number], which: 'dX' | 'dW', formulations: string[], iters: number): Promise<number[]> {
  const built = await Promise.all(formulations.map((f) => build(layer, which, f)));
  const times = formulations.map(() => [] as number[]);
  try {
    for (let i = 0; i < iters + 2; i++) {
      for (const [k, { session, feeds }] of built.entries()) {
        const start = performance.now();
        await session.run(feeds);
        if (i >= 2) times[k]!.push(performance.now() - start);
      }
    }
    return times.map(median);
  } finally {
    for (const { session } of built) await session.release();
  }
}

/** y, dX and dW of one depthwise conv (dY fed in), on the standard ops (block 0) or the blocked kernels. */
async function buildLayer(layer: (typeof WHOLE_LAYERS)[number], block: number) {
  const pad = (layer.k - 1) / 2;
  const out = convOutputSize(layer.size, layer.k, layer.stride, pad, pad);
  const g = new Graph();
  g.nchwcBlock = block;
  const x = g.input('x', [BATCH, layer.c, layer.size, layer.size], 'float32', { requiresGrad: true });
  const w = g.input('w', [layer.c, 1, layer.k, layer.k], 'float32', { requiresGrad: true });
  const dy = g.input('dy', [BATCH, layer.c, out, out]);
  const y = groupedConv2d(g, x, w, { stride: layer.stride, pads: [pad, pad, pad, pad], groups: layer.c });
  const [dx, dw] = gradients(g, y, [x, w], dy);
  g.output(y, 'y');
  g.output(dx!, 'dx');
  g.output(dw!, 'dw');
  const session = await Session.create(serializeGraph(g), { threads: 2 });
  const fill = (shape: readonly number[]) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), shape: [...shape] });
  return { session, feeds: { x: fill(x.shape), w: fill(w.shape), dy: fill(dy.shape) } };
}

async function wholeLayers(iters: number): Promise<void> {
  const block = await nchwcBlockSize();
  if (block === 0) throw new Error('this onnxruntime has no NCHWc kernels');
  console.log(`CPU ${cpuDescription()}, load ${os.loadavg()[0]!.toFixed(2)}, batch ${BATCH}, y + dX + dW per layer, min / median of ${iters} (ms), NCHWc block ${block}`);
  console.log('| layer | standard ops | NCHWc kernels |');
  console.log('|---|---|---|');
  for (const layer of WHOLE_LAYERS) {
    const built = [await buildLayer(layer, 0), await buildLayer(layer, block)];
    const times: number[][] = [[], []];
    try {
      for (let i = 0; i < iters + 2; i++) {
        for (const [k, { session, feeds }] of built.entries()) {
          const start = performance.now();
          await session.run(feeds);
          if (i >= 2) times[k]!.push(performance.now() - start);
        }
      }
    } finally {
      for (const { session } of built) await session.release();
    }
    const cell = (t: number[]) => `${Math.min(...t).toFixed(2)} / ${median(t).toFixed(2)}`;
    console.log(`| c=${layer.c} ${layer.size}x${layer.size} k${layer.k} s${layer.stride} | ${cell(times[0]!)} | ${cell(times[1]!)} |`);
  }
  console.log(`load at end ${os.loadavg()[0]!.toFixed(2)}`);
}

async function main(): Promise<void> {
  const iters = Number(option(process.argv.slice(2), '--iters') ?? 7);
  if (process.argv.includes('--layers')) return wholeLayers(iters);
  console.log(`CPU ${cpuDescription()}, load ${os.loadavg()[0]!.toFixed(2)}, batch ${BATCH}, medians of ${iters} (ms)`);
  const header = LAYERS.map((l) => `c=${l.c} ${l.size}x${l.size} k${l.k} s${l.stride}`);
  console.log(`| formulation | ${header.join(' | ')} |`);
  console.log(`|---|${header.map(() => '---').join('|')}|`);
  const rows: Array<['dX' | 'dW', string]> = [
    ['dX', 'conv-flipped'], ['dX', 'conv-transpose'], ['dX', 'dilate-conv'],
    ['dW', 'swapped-conv'], ['dW', 'slices'], ['dW', 'stacked-windows'], ['dW', 'batch-columns'],
  ];
  const cells = new Map<string, string[]>(rows.map(([w, f]) => [`${w} ${f}`, []]));
  for (const layer of LAYERS) {
    for (const which of ['dX', 'dW'] as const) {
      const applicable = rows.filter(([w, f]) => w === which && !(f === 'conv-flipped' && layer.stride !== 1) && !(f === 'dilate-conv' && layer.stride === 1)).map(([, f]) => f);
      const medians = await timeRoundRobin(layer, which, applicable, iters);
      for (const [w, f] of rows.filter(([w]) => w === which)) {
        const k = applicable.indexOf(f);
        cells.get(`${w} ${f}`)!.push(k < 0 ? '-' : medians[k]!.toFixed(2));
      }
    }
  }
  for (const [label, row] of cells) console.log(`| ${label} | ${row.join(' | ')} |`);
  console.log(`load at end ${os.loadavg()[0]!.toFixed(2)}`);
}

await main();
