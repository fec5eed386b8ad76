/**
 * ORT's CPU NCHWc kernels (com.microsoft.nchwc: ReorderInput, Conv, ReorderOutput) work on
 * channels in blocks whose size MLAS picks for the machine (16 with AVX-512, 8 with AVX2). A
 * graph that lays out weights for them must know that size; ORT says it through the shape a
 * ReorderInput gives one channel: [1, block, 1, 1].
 */
import { Graph } from '../graph/graph.js';
import { serializeGraph } from '../graph/onnx.js';
import { NCHWC_DOMAIN } from '../graph/ops/nchwc.js';
import { Session } from './session.js';

let probed: Promise<number> | undefined;

/** The block size, or 0 where this ORT has no NCHWc kernels (onnxruntime-web, other builds). Asked once per process. */
export function nchwcBlockSize(): Promise<number> {
  probed ??= probe().catch(() => 0);
  return probed;
}

async function probe(): Promise<number> {
  const g = new Graph();
  const x = g.input('x', [1, 1, 1, 1]);
  const blocked = g.emitIn(NCHWC_DOMAIN, 1, 'ReorderInput', [x], [1, 1, 1, 1]);
  g.output(g.emit1('Shape', [blocked], [4], {}, 'int64'), 'shape');
  const session = await Session.create(serializeGraph(g, 'nchwc_probe'), { threads: 1, device: 'cpu', quiet: true });
  try {
    const shape = (await session.run({ x: { data: Float32Array.of(0), shape: [1, 1, 1, 1] } })).shape!.data as BigInt64Array;
    const block = Number(shape[1]);
    // MLAS blocks are multiples of 4 (its filter reorder works in float4 groups); anything else is not a layout we know.
    return block >= 4 && block % 4 === 0 ? block : 0;
  } finally {
    await session.release();
  }
}
