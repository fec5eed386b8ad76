/** Finite-difference checks of the ops MobileNet, EfficientNet and ConvNeXt add (see graph-gradcheck.test.ts for the rest). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradcheck } from './helpers/gradcheck.js';
import * as ew from '../src/graph/ops/elementwise.js';
import { gelu, hardsigmoid, hardswish, relu6, sigmoid, silu } from '../src/graph/ops/activations.js';
import { depthwiseFormulation, groupedConv2d, type DepthwiseInputGrad, type DepthwiseWeightGrad } from '../src/graph/ops/grouped-conv.js';
import { layerNorm } from '../src/graph/ops/layer-norm.js';
import { channelGate } from '../src/graph/ops/channel-gate.js';
import { dense } from '../src/graph/ops/dense.js';
import { dropout, stochasticDepth } from '../src/graph/ops/stochastic.js';
import { Graph } from '../src/graph/graph.js';
import { gradients } from '../src/graph/autodiff.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { Session } from '../src/runtime/session.js';
import { nchwcBlockSize } from '../src/runtime/nchwc.js';

/** Values kept more than epsilon away from every kink (0, 6 for ReLU6; -3, 3 for the hard ones). */
function avoiding(kinks: number[], n: number): Float32Array {
  const values = Float32Array.from({ length: n }, (_, i) => -7.3 + (14.6 * i) / (n - 1));
  return values.map((v) => (kinks.some((k) => Math.abs(v - k) < 0.05) ? v + 0.1 : v));
}

test('activations: ReLU6, Hardsigmoid, Hardswish, Sigmoid, SiLU, GELU (erf)', async () => {
  const x = avoiding([0, 6, -3, 3], 24);
  await gradcheck((g, [t]) => relu6(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
  await gradcheck((g, [t]) => hardsigmoid(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
  await gradcheck((g, [t]) => hardswish(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
  await gradcheck((g, [t]) => sigmoid(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
  await gradcheck((g, [t]) => silu(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
  await gradcheck((g, [t]) => gelu(g, t!), [{ name: 'x', shape: [2, 12], values: x }]);
});

test('squeeze-and-excitation: channel-wise multiply by a [N, C, 1, 1] broadcast; layer scale by a [C, 1, 1] parameter', async () => {
  await gradcheck((g, [x, s]) => ew.mul(g, x!, s!), [{ name: 'x', shape: [2, 3, 3, 3] }, { name: 's', shape: [2, 3, 1, 1] }]);
  await gradcheck((g, [x, s]) => ew.mul(g, x!, s!), [{ name: 'x', shape: [2, 3, 2, 2] }, { name: 's', shape: [3, 1, 1] }]);
});

test('squeeze-and-excitation\'s channel gate x * gate(mean(x)): both paths of dX in one sum, with and without gate weights, x frozen', async () => {
  await gradcheck((g, [x, w]) => channelGate(g, x!, (pooled) => sigmoid(g, dense(g, pooled, w!, null))), [{ name: 'x', shape: [2, 3, 3, 2] }, { name: 'w', shape: [3, 3] }]);
  await gradcheck((g, [x]) => channelGate(g, x!, (pooled) => hardsigmoid(g, pooled)), [{ name: 'x', shape: [2, 4, 2, 3], values: avoiding([-3, 3], 48).map((v) => v / 2) }]);
  // Only the gate trains (x is a constant input): dW alone, no dX.
  await gradcheck((g, [w]) => channelGate(g, g.constant(Array.from({ length: 18 }, (_, i) => Math.sin(i)), [1, 2, 3, 3]), (pooled) => sigmoid(g, dense(g, pooled, w!, null))), [{ name: 'w', shape: [2, 2] }]);
  // The multiply's part of dX goes into the mean's sum: no full-size Expand or Add in the backward.
  const g = new Graph();
  const x = g.input('x', [2, 3, 4, 4], 'float32', { requiresGrad: true });
  const w = g.input('w', [3, 3], 'float32', { requiresGrad: true });
  gradients(g, channelGate(g, x, (pooled) => sigmoid(g, dense(g, pooled, w, null))), [x, w]);
  assert.ok(!g.nodes.some((n) => n.opType === 'Expand'), 'no Expand');
});

test('layer norm: channels-last over the last axis and NCHW over the channels', async () => {
  await gradcheck((g, [x, w, b]) => layerNorm(g, x!, w!, b!, 1e-6), [{ name: 'x', shape: [2, 2, 2, 4] }, { name: 'w', shape: [4] }, { name: 'b', shape: [4] }], { epsilon: 5e-3 });
  await gradcheck((g, [x, w, b]) => layerNorm(g, x!, w!, b!, 1e-6, 1), [{ name: 'x', shape: [2, 4, 2, 2] }, { name: 'w', shape: [4] }, { name: 'b', shape: [4] }], { epsilon: 5e-3 });
});

const DEPTHWISE_CASES: Array<{ x: number[]; k: number; stride: number; pads: [number, number, number, number] }> = [
  { x: [2, 3, 5, 5], k: 3, stride: 1, pads: [1, 1, 1, 1] },
  { x: [2, 3, 6, 6], k: 3, stride: 2, pads: [1, 1, 1, 1] },
  { x: [1, 2, 7, 6], k: 3, stride: 2, pads: [1, 1, 1, 1] },
  { x: [1, 2, 7, 7], k: 5, stride: 2, pads: [2, 2, 2, 2] },
  { x: [1, 2, 8, 8], k: 7, stride: 1, pads: [3, 3, 3, 3] },
  { x: [1, 2, 5, 5], k: 3, stride: 1, pads: [0, 0, 0, 0] },
];

for (const inputGrad of ['auto', 'conv-flipped', 'conv-transpose', 'dilate-conv'] as Array<DepthwiseInputGrad | 'auto'>) {
  for (const weightGrad of ['auto', 'swapped-conv', 'slices', 'stacked-windows', 'batch-columns'] as Array<DepthwiseWeightGrad | 'auto'>) {
    if (inputGrad !== 'auto' && weightGrad !== 'auto') continue;
    test(`depthwise conv (dX ${inputGrad}, dW ${weightGrad}): stride 1 and 2, kernels 3, 5, 7`, async () => {
      depthwiseFormulation.inputGrad = inputGrad;
      depthwiseFormulation.weightGrad = weightGrad;
      try {
        for (const c of DEPTHWISE_CASES) {
          if (inputGrad === 'conv-flipped' && c.stride !== 1) continue;
          await gradcheck((g, [x, w]) => groupedConv2d(g, x!, w!, { stride: c.stride, pads: c.pads, groups: c.x[1]! }), [{ name: 'x', shape: c.x }, { name: 'w', shape: [c.x[1]!, 1, c.k, c.k] }]);
        }
      } finally {
        depthwiseFormulation.inputGrad = 'auto';
        depthwiseFormulation.weightGrad = 'auto';
      }
    });
  }
}

test('depthwise conv on ORT\'s NCHWc kernels (a graph with nchwcBlock set): stride 1 and 2, kernels 3, 5, 7, channels padded to the block, MindSpore\'s uneven pads; 3 channels stay standard', async () => {
  const block = await nchwcBlockSize();
  assert.ok(block >= 8, `onnxruntime-node on x86 has NCHWc kernels (block ${block})`);
  // ORT's blocked layout takes channels in fours (fewer stay on the standard ops); 4 and 20 are padded to the block.
  const cases = [
    ...DEPTHWISE_CASES.map((c) => ({ ...c, x: [c.x[0]!, 4, ...c.x.slice(2)] })),
    { x: [2, 4, 6, 6], k: 3, stride: 2, pads: [0, 0, 1, 1] as [number, number, number, number] },
    { x: [1, 20, 5, 5], k: 3, stride: 1, pads: [1, 1, 1, 1] as [number, number, number, number] },
  ];
  for (const c of cases) {
    await gradcheck((g, [x, w]) => {
      g.nchwcBlock = block;
      const y = groupedConv2d(g, x!, w!, { stride: c.stride, pads: c.pads, groups: c.x[1]! });
      if (g.requiresGrad(w!)) assert.ok(g.nodes.some((n) => n.domain === 'com.microsoft.nchwc' && n.opType === 'Conv'), 'the blocked kernels are used');
      return y;
    }, [{ name: 'x', shape: c.x }, { name: 'w', shape: [c.x[1]!, 1, c.k, c.k] }]);
    // Forward, dX and dW all on the blocked kernels (none of these shapes needs the standard fallback).
    const g = new Graph();
    g.nchwcBlock = block;
    const x = g.input('x', c.x, 'float32', { requiresGrad: true });
    const w = g.input('w', [c.x[1]!, 1, c.k, c.k], 'float32', { requiresGrad: true });
    gradients(g, groupedConv2d(g, x, w, { stride: c.stride, pads: c.pads, groups: c.x[1]! }), [x, w]);
    assert.equal(g.nodes.filter((n) => n.domain === 'com.microsoft.nchwc' && n.opType === 'Conv').length, 3, `blocked convs for ${JSON.stringify(c)}`);
    assert.ok(!g.nodes.some((n) => n.domain === undefined && ['Conv', 'ConvTranspose'].includes(n.opType)), 'no standard conv left');
  }
  const g = new Graph();
  g.nchwcBlock = block;
  groupedConv2d(g, g.input('x', [1, 3, 5, 5]), g.input('w', [3, 1, 3, 3], 'float32', { requiresGrad: true }), { stride: 1, pads: [1, 1, 1, 1], groups: 3 });
  assert.ok(!g.nodes.some((n) => n.domain === 'com.microsoft.nchwc'), '3 channels: the standard Conv');
});

test('grouped conv with 2 channels per group (per-group dense convs), stride 1 and 2', async () => {
  await gradcheck((g, [x, w]) => groupedConv2d(g, x!, w!, { stride: 1, pads: [1, 1, 1, 1], groups: 2 }), [{ name: 'x', shape: [1, 4, 4, 4] }, { name: 'w', shape: [6, 2, 3, 3] }]);
  await gradcheck((g, [x, w]) => groupedConv2d(g, x!, w!, { stride: 2, pads: [1, 1, 1, 1], groups: 2 }), [{ name: 'x', shape: [1, 4, 5, 5] }, { name: 'w', shape: [4, 2, 3, 3] }]);
});

/** Runs y = op(x) and dL/dx for L = sum(y) twice in one session; returns both draws. */
async function twoDraws(build: (g: Graph, x: ReturnType<Graph['input']>) => ReturnType<Graph['input']>, shape: number[]) {
  const g = new Graph();
  const x = g.input('x', shape, 'float32', { requiresGrad: true });
  const y = build(g, x);
  const [dx] = gradients(g, y, [x], g.constant(new Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape));
  g.output(y, 'y');
  g.output(dx!, 'dx');
  const session = await Session.create(serializeGraph(g), { threads: 1 });
  try {
    const feeds = { x: { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(2), shape } };
    const first = await session.run(feeds);
    const second = await session.run(feeds);
    return [first, second].map((r) => ({ y: Array.from(r.y!.data as Float32Array), dx: Array.from(r.dx!.data as Float32Array) }));
  } finally {
    await session.release();
  }
}

test('dropout: kept values scaled by 1/(1-p), about p dropped, gradient through the same mask, a new mask each run', async () => {
  const draws = await twoDraws((g, x) => dropout(g, x, 0.25, 17), [4000]);
  for (const { y, dx } of draws) {
    const dropped = y.filter((v) => v === 0).length / y.length;
    assert.ok(Math.abs(dropped - 0.25) < 0.03, `dropped ${dropped}`);
    y.forEach((v, i) => {
      assert.ok(v === 0 || Math.abs(v - 2 / 0.75) < 1e-5, `kept value ${v}`);
      assert.ok(Math.abs(dx[i]! - v / 2) < 1e-6, 'the gradient follows the mask');
    });
  }
  assert.notDeepEqual(draws[0]!.y, draws[1]!.y, 'a fresh mask per step');
  const again = await twoDraws((g, x) => dropout(g, x, 0.25, 17), [4000]);
  assert.deepEqual(again[0]!.y, draws[0]!.y, 'the same seed gives the same masks');
});

test('stochastic depth: whole samples dropped, the rest scaled by 1/(1-p)', async () => {
  const [draw] = await twoDraws((g, x) => stochasticDepth(g, x, 0.5, 5), [64, 2, 2, 2]);
  let dropped = 0;
  for (let n = 0; n < 64; n++) {
    const sample = draw!.y.slice(n * 8, n * 8 + 8);
    assert.ok(sample.every((v) => v === sample[0]), 'one decision per sample');
    if (sample[0] === 0) dropped++;
    else assert.ok(Math.abs(sample[0]! - 4) < 1e-6);
  }
  assert.ok(dropped > 16 && dropped < 48, `dropped ${dropped} of 64`);
});
