import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import type { OptimizerConfig } from '../src/graph/optim.js';
import { Flatten } from '../src/nn/layers/activation.js';
import { Dense } from '../src/nn/layers/dense.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { seedInitializers } from '../src/nn/init.js';
import type { Module } from '../src/nn/module.js';
import { TrainStep } from '../src/runtime/train-step.js';
import { cutmixBatch, mixupBatch, SOFT_TARGETS } from '../src/train/callbacks/mixing.js';
import type { Callback } from '../src/train/callbacks/index.js';
import { balancedClassWeights } from '../src/train/class-weights.js';
import { fit } from '../src/train/fit.js';
import { softmax } from '../src/train/metrics.js';
import { mulberry32 } from '../src/util/random.js';

const SHAPE = [1, 4, 4] as const;

/** `n` 4x4 images; class k images are brighter in row k; `counts` images per class. */
function imbalanced(counts: number[], seed: number): InMemoryDataset {
  const random = mulberry32(seed);
  const n = counts.reduce((a, b) => a + b, 0);
  const labels = Int32Array.from(counts.flatMap((count, k) => new Array<number>(count).fill(k)));
  const images = new Float32Array(n * 16);
  for (let i = 0; i < n; i++) for (let p = 0; p < 16; p++) images[i * 16 + p] = random() + (Math.floor(p / 4) === labels[i] ? 1 : 0);
  return new InMemoryDataset({ images, shape: [n, 1, 4, 4], labels, classNames: counts.map((_, k) => `c${k}`) });
}

function linear(seed: number, classes: number): Module {
  seedInitializers(seed);
  return new Sequential(new Flatten(), new Dense(16, classes));
}

interface Seen { loss: number; logits: Float32Array; labels: Int32Array; targets?: Float32Array; images?: Float32Array }
const recorder = (seen: Seen[]): Callback => ({
  onBatchEnd: (_run, batch, result) => void seen.push({ loss: result.loss, logits: Float32Array.from(result.logits), labels: batch.labels, targets: batch.feeds[SOFT_TARGETS], images: batch.images }),
});

/** -sum_i sum_c w_c t_ic log p_ic / sum_i sum_c w_c t_ic, in float64. */
function softCrossEntropy(logits: Float32Array, targets: ArrayLike<number>, classes: number, weights?: readonly number[]): number {
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < logits.length / classes; i++) {
    const p = softmax(Array.from(logits.subarray(i * classes, (i + 1) * classes)));
    for (let c = 0; c < classes; c++) {
      const a = (weights?.[c] ?? 1) * targets[i * classes + c]!;
      numerator -= a * Math.log(p[c]!);
      denominator += a;
    }
  }
  return numerator / denominator;
}

const oneHot = (labels: ArrayLike<number>, classes: number) => {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + labels[i]!] = 1;
  return out;
};

test("balanced class weights are scikit-learn's n / (classes * count)", () => {
  assert.deepEqual(balancedClassWeights([0, 0, 0, 0, 0, 0, 1, 1], 2), [8 / 12, 2]);
  assert.throws(() => balancedClassWeights([0, 0, 2], 3, ['cat', 'dog', 'fox']), /class dog has no training examples/);
});

test('--class-weights balanced: the step trains on sum_i w_y_i CE_i / sum_i w_y_i, which differs from the plain mean', async () => {
  const data = imbalanced([9, 3], 1);
  const weights = balancedClassWeights(data.labels, 2);
  const run = async (classWeights?: 'balanced') => {
    const seen: Seen[] = [];
    await fit(linear(2, 2), {
      epochs: 1, train: new DataLoader(data, { batchSize: 12 }), inputShape: SHAPE, optimizer: { kind: 'sgd' }, lr: 0.1,
      log: () => undefined, classWeights, callbacks: [recorder(seen)],
    });
    return seen[0]!;
  };
  const weighted = await run('balanced');
  const expected = softCrossEntropy(weighted.logits, oneHot(weighted.labels, 2), 2, weights);
  assert.ok(Math.abs(weighted.loss - expected) < 1e-5, `weighted loss ${weighted.loss} vs formula ${expected}`);
  const plain = await run();
  assert.deepEqual(plain.logits, weighted.logits, 'same start');
  const mean = softCrossEntropy(plain.logits, oneHot(plain.labels, 2), 2);
  assert.ok(Math.abs(plain.loss - mean) < 1e-5);
  assert.ok(Math.abs(weighted.loss - plain.loss) > 1e-3, `the weights change the loss (${weighted.loss} vs ${plain.loss})`);
});

test('mixup blends images and targets by lambda; cutmix pastes a box and lambda is the share of pixels kept', () => {
  const images = Float32Array.from({ length: 3 * 16 }, (_, i) => Math.floor(i / 16) * 10 + (i % 16));
  const labels = Int32Array.of(0, 1, 2);
  const partner = Int32Array.of(2, 0, 1);
  const mixed = mixupBatch(images, labels, 3, 0.75, partner);
  for (let i = 0; i < 3; i++) {
    for (let k = 0; k < 16; k++) assert.ok(Math.abs(mixed.images[i * 16 + k]! - (0.75 * images[i * 16 + k]! + 0.25 * images[partner[i]! * 16 + k]!)) < 1e-5);
  }
  assert.deepEqual([...mixed.targets], [0.75, 0, 0.25, 0.25, 0.75, 0, 0, 0.25, 0.75]);

  // Sample k is the constant k+1: counting pixels tells whose they are.
  const flat = Float32Array.from({ length: 3 * 2 * 8 * 8 }, (_, i) => Math.floor(i / 128) + 1);
  const cut = cutmixBatch(flat, labels, [2, 8, 8], 3, 0.6, partner, mulberry32(5));
  for (let i = 0; i < 3; i++) {
    const own = cut.images.subarray(i * 128, (i + 1) * 128).filter((v) => v === i + 1).length;
    const theirs = cut.images.subarray(i * 128, (i + 1) * 128).filter((v) => v === partner[i]! + 1).length;
    assert.equal(own + theirs, 128);
    assert.ok(Math.abs(own / 128 - cut.lambda) < 1e-9, `sample ${i}: ${own}/128 own pixels, lambda ${cut.lambda}`);
    assert.ok(Math.abs(cut.targets[i * 3 + labels[i]!]! - cut.lambda) < 1e-6);
    assert.ok(Math.abs(cut.targets[i * 3 + labels[partner[i]!]!]! - (1 - cut.lambda)) < 1e-6);
  }
  assert.ok(cut.lambda > 0.3 && cut.lambda < 1, `a box was cut (${cut.lambda})`);
});

test('fit with mixup or cutmix trains on the blended images against the blended targets with soft-target cross-entropy', async () => {
  for (const kind of ['mixup', 'cutmix'] as const) {
    const seen: Seen[] = [];
    const data = imbalanced([6, 6, 6], 3);
    await fit(linear(4, 3), {
      epochs: 2, train: new DataLoader(data, { batchSize: 6, shuffle: true, seed: 1 }), inputShape: SHAPE, optimizer: { kind: 'sgd' }, lr: 0.1,
      log: () => undefined, mix: { kind, alpha: 1, seed: 2 }, callbacks: [recorder(seen)],
    });
    assert.equal(seen.length, 6);
    for (const s of seen) {
      assert.ok(s.targets, `${kind}: soft targets fed`);
      for (let i = 0; i < 6; i++) assert.ok(Math.abs(s.targets[i * 3]! + s.targets[i * 3 + 1]! + s.targets[i * 3 + 2]! - 1) < 1e-6);
      const expected = softCrossEntropy(s.logits, s.targets, 3);
      assert.ok(Math.abs(s.loss - expected) < 1e-5, `${kind}: loss ${s.loss} vs the soft-target formula ${expected}`);
    }
    assert.ok(seen.some((s) => s.targets!.some((t) => t > 0.01 && t < 0.99)), `${kind}: some targets are blends`);
  }
});

/** Weights after training `net` with `optimizer` on the given batches, in order. */
async function trainedWeights(optimizer: OptimizerConfig, batches: Array<{ images: Float32Array; labels: Int32Array }>, lr: number): Promise<Float32Array[]> {
  const net = linear(9, 3);
  const step = await TrainStep.create(net, { inputShape: SHAPE, optimizer, bnTraining: false });
  const every = optimizer.accumulate ?? 1;
  let applied = net.parameters().map((p) => Float32Array.from(p.data));
  try {
    for (const [k, batch] of batches.entries()) {
      await step.step(batch.images, batch.labels, lr);
      step.syncToNetwork();
      const now = net.parameters().map((p) => Float32Array.from(p.data));
      // The steps that only accumulate leave the weights as they were, bit for bit.
      if ((k + 1) % every !== 0) now.forEach((w, i) => assert.deepEqual(w, applied[i]));
      else applied = now;
    }
    return net.parameters().map((p) => Float32Array.from(p.data));
  } finally {
    await step.release();
  }
}

test('gradient accumulation: N steps of batch B equal one step of batch N*B (momentum with weight decay, and Adam)', async () => {
  const data = imbalanced([8, 8, 8], 7);
  const images = data.images as Float32Array;
  const order = Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 24);
  const shuffled = { images: Float32Array.from({ length: 24 * 16 }, (_, k) => images[order[Math.floor(k / 16)]! * 16 + (k % 16)]!), labels: Int32Array.from(order, (i) => data.labels[i]!) };
  const small = Array.from({ length: 6 }, (_, k) => ({ images: shuffled.images.slice(k * 4 * 16, (k + 1) * 4 * 16), labels: shuffled.labels.slice(k * 4, (k + 1) * 4) }));
  const large = [0, 1].map((k) => ({ images: shuffled.images.slice(k * 12 * 16, (k + 1) * 12 * 16), labels: shuffled.labels.slice(k * 12, (k + 1) * 12) }));
  for (const optimizer of [{ kind: 'momentum', momentum: 0.9, weightDecay: 0.01 }, { kind: 'adam' }] as OptimizerConfig[]) {
    const accumulated = await trainedWeights({ ...optimizer, accumulate: 3 }, small, 0.05);
    const direct = await trainedWeights(optimizer, large, 0.05);
    const untouched = await trainedWeights(optimizer, [], 0.05);
    accumulated.forEach((w, i) => {
      const scale = Math.max(...Array.from(direct[i]!, (v, j) => Math.abs(v - untouched[i]![j]!)));
      assert.ok(scale > 1e-3, 'the weights moved');
      w.forEach((v, j) => assert.ok(Math.abs(v - direct[i]![j]!) < 1e-5 + 1e-4 * scale, `${optimizer.kind} weight ${i}[${j}]: accumulated ${v} vs one large batch ${direct[i]![j]}`));
    });
    // Without accumulation, six small steps are not the same as two large ones (the test can tell).
    const sixSteps = await trainedWeights(optimizer, small, 0.05);
    assert.ok(sixSteps.some((w, i) => w.some((v, j) => Math.abs(v - direct[i]![j]!) > 1e-3)));
  }
});
