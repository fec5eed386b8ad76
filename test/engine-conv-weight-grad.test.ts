import assert from 'node:assert/strict';
import test from 'node:test';
import { gradients } from '../src/graph/autodiff.js';
import { Graph } from '../src/graph/graph.js';
import { conv2d, type Pads } from '../src/graph/ops/conv.js';
import { reduceSum } from '../src/graph/ops/reduce.js';
import { gradcheck } from './helpers/gradcheck.js';

// conv2d's weight gradient has two formulations, chosen by shape: per-sample MatMuls + ReduceSum
// (many positions, few channels) and one Gemm with the batch folded into the inner dimension (few
// positions, many channels, as in layer3/layer4). The shared gradcheck cases are small enough to
// take only the first; these shapes take the folded one.
const folded: Array<{ x: number[]; w: number[]; stride: number; pads: Pads }> = [
  { x: [2, 8, 3, 3], w: [8, 8, 3, 3], stride: 1, pads: [1, 1, 1, 1] },
  { x: [2, 6, 4, 4], w: [6, 6, 3, 3], stride: 2, pads: [1, 1, 1, 1] },
  { x: [2, 6, 4, 5], w: [5, 6, 3, 3], stride: 2, pads: [0, 1, 1, 1] },
  { x: [2, 16, 1, 2], w: [16, 16, 1, 1], stride: 1, pads: [0, 0, 0, 0] },
  { x: [2, 16, 3, 3], w: [16, 16, 1, 1], stride: 2, pads: [0, 0, 0, 0] },
];

function weightGradientOps(c: (typeof folded)[number]): string[] {
  const g = new Graph();
  const x = g.input('x', c.x, 'float32', { requiresGrad: true });
  const w = g.input('w', c.w, 'float32', { requiresGrad: true });
  const y = conv2d(g, x, w, { stride: c.stride, pads: c.pads });
  const before = g.nodes.length;
  gradients(g, reduceSum(g, y, [0, 1, 2, 3], false), [w]);
  return g.nodes.slice(before).map((node) => node.opType);
}

test('these shapes take the folded (single Gemm) weight-gradient formulation', () => {
  for (const c of folded) assert.ok(weightGradientOps(c).includes('Gemm'), `x [${c.x.join(', ')}], w [${c.w.join(', ')}]`);
  assert.ok(!weightGradientOps({ x: [2, 2, 8, 8], w: [2, 2, 3, 3], stride: 1, pads: [1, 1, 1, 1] }).includes('Gemm'));
});

test('conv2d gradients with the batch folded into one Gemm match finite differences', async () => {
  for (const c of folded) {
    await gradcheck((g, [x, w]) => conv2d(g, x!, w!, { stride: c.stride, pads: c.pads }), [{ name: 'x', shape: c.x }, { name: 'w', shape: c.w }]);
  }
});
