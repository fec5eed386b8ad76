import assert from 'node:assert/strict';
import test from 'node:test';
import { gradients } from '../src/graph/autodiff.js';
import { Graph } from '../src/graph/graph.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { conv2d, FOLD_MAX_POSITIONS, type Pads } from '../src/graph/ops/conv.js';
import { reduceSum } from '../src/graph/ops/reduce.js';
import { engineTuning } from '../src/graph/ops/tuning.js';
import { Session } from '../src/runtime/session.js';
import { mulberry32, normal } from '../src/util/random.js';
import { gradcheck } from './helpers/gradcheck.js';

// In training graphs (trainable weight) convs with few output positions per image run as one
// GEMM over the whole batch (im2col across images), and their weight gradient reuses those
// columns; other convs keep ORT's Conv. The shared gradcheck compares the backward of the
// folded graph with finite differences of ORT's Conv; these tests also pin the forward values
// and which formulation each shape takes.
type Case = { x: number[]; w: number[]; stride: number; pads: Pads };
const folded: Case[] = [
  { x: [2, 8, 3, 3], w: [8, 8, 3, 3], stride: 1, pads: [1, 1, 1, 1] },
  { x: [2, 6, 4, 4], w: [6, 6, 3, 3], stride: 2, pads: [1, 1, 1, 1] },
  { x: [2, 6, 4, 5], w: [5, 6, 3, 3], stride: 2, pads: [0, 1, 1, 1] },
  { x: [2, 16, 1, 2], w: [16, 16, 1, 1], stride: 1, pads: [0, 0, 0, 0] },
  { x: [2, 16, 3, 3], w: [16, 16, 1, 1], stride: 2, pads: [0, 0, 0, 0] },
  { x: [2, 3, 11, 11], w: [4, 3, 7, 7], stride: 2, pads: [3, 3, 3, 3] },
];
const wide: Case = { x: [1, 2, 15, 15], w: [2, 2, 3, 3], stride: 1, pads: [1, 1, 1, 1] };

function build(c: Case, trainable: boolean): Graph {
  const g = new Graph();
  const x = g.input('x', c.x, 'float32', { requiresGrad: true });
  const w = g.input('w', c.w, 'float32', { requiresGrad: trainable });
  const y = conv2d(g, x, w, { stride: c.stride, pads: c.pads });
  g.output(y, 'y');
  gradients(g, reduceSum(g, y, [0, 1, 2, 3], false), [x]);
  return g;
}

const random = mulberry32(5);
const values = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => normal(random));

async function forward(g: Graph, c: Case, x: Float32Array, w: Float32Array): Promise<Float32Array> {
  const session = await Session.create(serializeGraph(g), { threads: 1 });
  try {
    return (await session.run({ x: { data: x, shape: c.x }, w: { data: w, shape: c.w } }, ['y'])).y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('a trainable weight with few output positions runs the batch-wide GEMM; others keep Conv', () => {
  for (const c of folded) {
    const ops = build(c, true).nodes.map((node) => node.opType);
    assert.ok(!ops.includes('Conv') && ops.includes('MatMul'), `x [${c.x.join(', ')}], w [${c.w.join(', ')}]: ${ops.join(' ')}`);
    assert.ok(build(c, false).nodes.some((node) => node.opType === 'Conv'), 'a constant weight keeps ORT Conv');
  }
  assert.ok(wide.x[2]! * wide.x[3]! > FOLD_MAX_POSITIONS);
  assert.ok(build(wide, true).nodes.some((node) => node.opType === 'Conv'));
});

test('the batch-wide GEMM gives the same outputs as ORT Conv, in both column orders', async () => {
  for (const order of ['hwn', 'nhw'] as const) {
    engineTuning.columnOrder = order;
    try {
      for (const c of folded) {
        const x = values(c.x);
        const w = values(c.w);
        const expected = await forward(build(c, false), c, x, w);
        const actual = await forward(build(c, true), c, x, w);
        assert.equal(actual.length, expected.length);
        const scale = Math.max(...Array.from(expected, Math.abs));
        for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-5 * scale, `${order}, x [${c.x.join(', ')}] output ${i}: ${actual[i]} vs ${expected[i]}`);
      }
    } finally {
      engineTuning.columnOrder = 'hwn';
    }
  }
});

test('conv2d gradients match finite differences on both formulations', async () => {
  for (const c of [...folded, wide]) {
    await gradcheck((g, [x, w]) => conv2d(g, x!, w!, { stride: c.stride, pads: c.pads }), [{ name: 'x', shape: c.x }, { name: 'w', shape: c.w }]);
  }
});
