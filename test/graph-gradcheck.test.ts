import { test } from 'node:test';
import { gradcheck } from './helpers/gradcheck.js';
import * as ew from '../src/graph/ops/elementwise.js';
import * as rd from '../src/graph/ops/reduce.js';
import { conv2d, samePadding } from '../src/graph/ops/conv.js';
import { engineTuning } from '../src/graph/ops/tuning.js';
import { batchNormInference, batchNormTraining } from '../src/graph/ops/norm.js';
import { avgPool2d, globalAvgPool, maxPool2d } from '../src/graph/ops/pool.js';
import { dense } from '../src/graph/ops/dense.js';
import { softmaxCrossEntropy } from '../src/graph/ops/loss.js';
import { mulberry32 } from '../src/util/random.js';
import assert from 'node:assert/strict';
import { Graph } from '../src/graph/graph.js';
import { gradients } from '../src/graph/autodiff.js';
import { nchwcBlockSize } from '../src/runtime/nchwc.js';

/** Distinct, well separated values so max/ReLU kinks stay farther than epsilon away. */
function spread(n: number, seed: number, offset = 0): Float32Array {
  const random = mulberry32(seed);
  const values = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.11 + 0.037 + offset);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

test('element-wise ops with broadcasting', async () => {
  await gradcheck((g, [a, b]) => ew.add(g, a!, b!), [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [1, 3] }]);
  await gradcheck((g, [a, b]) => ew.sub(g, a!, b!), [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }]);
  await gradcheck((g, [a, b]) => ew.mul(g, a!, b!), [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }]);
  await gradcheck((g, [a, b]) => ew.div(g, a!, b!), [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3], values: Float32Array.from([1.5, 2, -2.5, 3, 1.2, -1.7]) }]);
  await gradcheck((g, [x]) => ew.relu(g, x!), [{ name: 'x', shape: [3, 4], values: spread(12, 1) }]);
  engineTuning.reluBackward = 'where';
  try {
    await gradcheck((g, [x]) => ew.relu(g, x!), [{ name: 'x', shape: [3, 4], values: spread(12, 1) }]);
  } finally {
    engineTuning.reluBackward = 'cast-mul';
  }
  await gradcheck((g, [x]) => ew.sqrt(g, x!), [{ name: 'x', shape: [5], values: Float32Array.from([0.5, 1, 2, 3, 4]) }]);
  await gradcheck((g, [x]) => ew.square(g, x!), [{ name: 'x', shape: [5] }]);
  await gradcheck((g, [x]) => ew.clampMin(g, x!, 0.05), [{ name: 'x', shape: [6], values: spread(6, 2) }]);
  await gradcheck((g, [x]) => ew.smoothL1(g, x!), [{ name: 'x', shape: [8], values: Float32Array.from([-2.3, -1.4, -0.6, -0.1, 0.2, 0.7, 1.6, 2.9]) }]);
  await gradcheck((g, [x]) => ew.scale(g, x!, -3), [{ name: 'x', shape: [4] }]);
});

test('reductions, reshapes and matmul', async () => {
  await gradcheck((g, [x]) => rd.reduceSum(g, x!, [1]), [{ name: 'x', shape: [2, 3, 2] }]);
  await gradcheck((g, [x]) => rd.reduceMean(g, x!, [0, 2], false), [{ name: 'x', shape: [2, 3, 2] }]);
  await gradcheck((g, [x]) => rd.flatten(g, x!), [{ name: 'x', shape: [2, 2, 3] }]);
  await gradcheck((g, [x]) => rd.transpose(g, x!, [2, 0, 1]), [{ name: 'x', shape: [2, 3, 4] }]);
  await gradcheck((g, [x]) => rd.unsqueeze(g, x!, 1), [{ name: 'x', shape: [2, 3] }]);
  await gradcheck((g, [a, b]) => rd.matmul(g, a!, b!), [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 2] }]);
});

test('conv2d: stride 1 and 2, symmetric, same and none padding, 1x1 and 3x3', async () => {
  const cases: Array<{ x: number[]; w: number[]; stride: number; pads: [number, number, number, number] }> = [
    { x: [2, 2, 5, 5], w: [3, 2, 3, 3], stride: 1, pads: [1, 1, 1, 1] },
    { x: [1, 2, 6, 6], w: [2, 2, 3, 3], stride: 2, pads: [1, 1, 1, 1] },
    { x: [1, 2, 6, 5], w: [2, 2, 3, 3], stride: 2, pads: [...samePadding(6, 3, 2), ...samePadding(5, 3, 2)].map((v, i, a) => [a[0], a[2], a[1], a[3]][i]!) as [number, number, number, number] },
    { x: [2, 3, 4, 4], w: [2, 3, 1, 1], stride: 1, pads: [0, 0, 0, 0] },
    { x: [1, 3, 5, 5], w: [2, 3, 1, 1], stride: 2, pads: [0, 0, 0, 0] },
    { x: [1, 1, 9, 9], w: [2, 1, 7, 7], stride: 2, pads: [3, 3, 3, 3] },
    { x: [1, 2, 5, 5], w: [2, 2, 3, 3], stride: 1, pads: [0, 0, 0, 0] },
  ];
  for (const c of cases) {
    await gradcheck((g, [x, w]) => conv2d(g, x!, w!, { stride: c.stride, pads: c.pads }), [{ name: 'x', shape: c.x }, { name: 'w', shape: c.w }]);
  }
  // The alternative im2col formulations (one grouped Conv with one-hot kernels; columns with the
  // batch outermost; batch columns for every windowed weight gradient) must give the same gradients.
  const defaults = { ...engineTuning };
  for (const alternative of [{ im2col: 'one-hot-conv' as const }, { columnOrder: 'nhw' as const }, { dwBatchColumns: true }]) {
    Object.assign(engineTuning, alternative);
    try {
      for (const c of cases) {
        await gradcheck((g, [x, w]) => conv2d(g, x!, w!, { stride: c.stride, pads: c.pads }), [{ name: 'x', shape: c.x }, { name: 'w', shape: c.w }]);
      }
    } finally {
      Object.assign(engineTuning, defaults);
    }
  }
});

test('batch norm in training and inference mode', async () => {
  await gradcheck((g, [x, gamma, beta]) => {
    const mean = g.constant([0, 0, 0]);
    const variance = g.constant([1, 1, 1]);
    return batchNormTraining(g, x!, gamma!, beta!, mean, variance, 1e-5, 0.9).y;
  }, [{ name: 'x', shape: [2, 3, 2, 2] }, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }], { epsilon: 5e-3 });
  await gradcheck((g, [x, gamma, beta]) => {
    const mean = g.constant([0.1, -0.2, 0.3]);
    const variance = g.constant([0.5, 1.5, 2]);
    return batchNormInference(g, x!, gamma!, beta!, mean, variance, 1e-5);
  }, [{ name: 'x', shape: [2, 3, 2, 2] }, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }]);
});

test('conv2d with bias, and frozen BN folded into the conv before it (finite differences taken on the unfolded graph)', async () => {
  await gradcheck((g, [x, w, b]) => conv2d(g, x!, w!, { stride: 1, pads: [1, 1, 1, 1] }, b!), [{ name: 'x', shape: [2, 2, 5, 5] }, { name: 'w', shape: [3, 2, 3, 3] }, { name: 'b', shape: [3] }]);
  // 5x5 runs as batch columns (<= FOLD_MAX_POSITIONS), 15x15 as an ORT Conv; stride 2 for ConvTranspose's dX.
  for (const [size, stride] of [[5, 1], [15, 1], [6, 2]] as const) {
    await gradcheck((g, [x, w, gamma, beta]) => {
      const conv = conv2d(g, x!, w!, { stride, pads: [1, 1, 1, 1] });
      return batchNormInference(g, conv, gamma!, beta!, g.constant([0.1, -0.2, 0.3]), g.constant([0.5, 1.5, 2]), 1e-5);
    }, [{ name: 'x', shape: [2, 2, size, size] }, { name: 'w', shape: [3, 2, 3, 3] }, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }]);
  }
});

test('conv2d on ORT\'s NCHWc kernels (a graph with nchwcBlock set, channels in whole blocks): forward and stride-1 dX, with and without a bias', async () => {
  const block = await nchwcBlockSize();
  assert.ok(block >= 8, `onnxruntime-node on x86 has NCHWc kernels (block ${block})`);
  // 15x15 positions run as ORT Convs (more than FOLD_MAX_POSITIONS), so both the forward and dX take the blocked path.
  const c = block;
  for (const withBias of [false, true]) {
    await gradcheck((g, [x, w, b]) => {
      g.nchwcBlock = block;
      const y = conv2d(g, x!, w!, { stride: 1, pads: [1, 1, 1, 1] }, withBias ? b! : undefined);
      assert.ok(g.nodes.some((n) => n.domain === 'com.microsoft.nchwc' && n.opType === 'Conv'), 'the blocked kernels are used');
      return y;
    }, [{ name: 'x', shape: [1, c, 15, 15] }, { name: 'w', shape: [c, c, 3, 3] }, ...(withBias ? [{ name: 'b', shape: [c] }] : [])]);
  }
  const g = new Graph();
  g.nchwcBlock = block;
  const x = g.input('x', [1, c, 15, 15], 'float32', { requiresGrad: true });
  const w = g.input('w', [c, c, 3, 3], 'float32', { requiresGrad: true });
  gradients(g, conv2d(g, x, w, { stride: 1, pads: [1, 1, 1, 1] }), [x, w]);
  assert.equal(g.nodes.filter((n) => n.domain === 'com.microsoft.nchwc' && n.opType === 'Conv').length, 2, 'forward and dX blocked');
  // Channels past engineTuning.blockedConvMaxChannels, or not in whole blocks, stay on the standard Conv.
  for (const channels of [c * 4, 3]) {
    const h = new Graph();
    h.nchwcBlock = block;
    conv2d(h, h.input('x', [1, channels, 15, 15]), h.input('w', [channels, channels, 3, 3], 'float32', { requiresGrad: true }), { stride: 1, pads: [1, 1, 1, 1] });
    assert.ok(!h.nodes.some((n) => n.domain === 'com.microsoft.nchwc'), `${channels} channels: the standard Conv`);
  }
});

test('max, average and global pooling', async () => {
  await gradcheck((g, [x]) => maxPool2d(g, x!, { kernel: 3, stride: 2, pads: [1, 1, 1, 1] }), [{ name: 'x', shape: [1, 2, 5, 5], values: spread(50, 3) }]);
  await gradcheck((g, [x]) => maxPool2d(g, x!, { kernel: 3, stride: 2, pads: [0, 0, 1, 1] }), [{ name: 'x', shape: [2, 1, 6, 6], values: spread(72, 4) }]);
  await gradcheck((g, [x]) => avgPool2d(g, x!, { kernel: 2, stride: 2, pads: [0, 0, 0, 0] }), [{ name: 'x', shape: [1, 2, 4, 5] }]);
  await gradcheck((g, [x]) => avgPool2d(g, x!, { kernel: 3, stride: 1, pads: [1, 1, 1, 1] }), [{ name: 'x', shape: [1, 2, 4, 4] }]);
  await gradcheck((g, [x]) => globalAvgPool(g, x!), [{ name: 'x', shape: [2, 3, 3, 3] }]);
});

test('dense and sparse softmax cross-entropy', async () => {
  await gradcheck((g, [x, w, b]) => dense(g, x!, w!, b!), [{ name: 'x', shape: [3, 4] }, { name: 'w', shape: [2, 4] }, { name: 'b', shape: [2] }]);
  await gradcheck((g, [logits]) => {
    const labels = g.constantInt64([2, 0, 1, 2], [4]);
    return softmaxCrossEntropy(g, logits!, labels);
  }, [{ name: 'logits', shape: [4, 3] }]);
  await gradcheck((g, [logits]) => softmaxCrossEntropy(g, logits!, g.constantInt64([1, 0], [2]), { labelSmoothing: 0.1 }), [{ name: 'logits', shape: [2, 3] }]);
});

test('relational knowledge distillation loss (distance and angle terms)', async () => {
  const { rkdLoss } = await import('../src/transfer/rkd.js');
  const teacher = Float32Array.from({ length: 4 * 5 }, (_, i) => Math.sin(i * 1.7) * 2);
  await gradcheck((g, [student]) => rkdLoss(g, student!, g.constant(Array.from(teacher), [4, 5]), { distance: 1, angle: 2 }),
    [{ name: 'student', shape: [4, 3] }], { epsilon: 3e-3 });
});

test('ops that fold to their input pass the gradient once', async () => {
  await gradcheck((g, [x]) => ew.add(g, ew.scale(g, x!, 1), rd.reduceSum(g, x!, [])), [{ name: 'x', shape: [3] }]);
});
