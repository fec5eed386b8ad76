import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../src/data/loader.js';
import { Flatten } from '../src/nn/layers/activation.js';
import { Dense } from '../src/nn/layers/dense.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { seedInitializers } from '../src/nn/init.js';
import type { Module } from '../src/nn/module.js';
import { EarlyStopping, type Callback, type TrainingRun } from '../src/train/callbacks/index.js';
import { fit } from '../src/train/fit.js';
import { TINY_INPUT_SHAPE, tinyImages } from './helpers/tiny-training.js';

function linearNet(seed: number): Module {
  seedInitializers(seed);
  return new Sequential(new Flatten(), new Dense(144, 2));
}

const loaders = (seed: number) => ({
  train: new DataLoader(tinyImages(16, seed), { batchSize: 8, shuffle: true, seed }),
  val: new DataLoader(tinyImages(16, seed + 1), { batchSize: 8 }),
});

function snapshot(net: Module): Map<string, Float32Array> {
  return new Map(net.parameters().map((p) => [p.name, Float32Array.from(p.data)]));
}

test('fit fires train, epoch, batch and validation events in order', async () => {
  const events: string[] = [];
  const recorder: Callback = {
    onTrainBegin: () => void events.push('train-begin'),
    onEpochBegin: (_run, epoch) => void events.push(`epoch-begin ${epoch}`),
    onBatchBegin: (_run, batch) => void events.push(`batch-begin ${batch.epoch}.${batch.step}`),
    onBatchEnd: (_run, batch, result) => void events.push(`batch-end ${batch.epoch}.${batch.step} ${Number.isFinite(result.loss)}`),
    onValidateBegin: (_run, epoch, steps) => void events.push(`validate ${epoch} after ${steps}`),
    onEpochEnd: (_run, end) => void events.push(`epoch-end ${end.record.epoch}`),
    onTrainEnd: () => void events.push('train-end'),
  };
  await fit(linearNet(1), { epochs: 2, ...loaders(3), inputShape: TINY_INPUT_SHAPE, optimizer: { kind: 'sgd' }, lr: 0.01, log: () => undefined, callbacks: [recorder] });
  assert.deepEqual(events, [
    'train-begin',
    'epoch-begin 1', 'batch-begin 1.1', 'batch-end 1.1 true', 'batch-begin 1.2', 'batch-end 1.2 true', 'validate 1 after 2', 'epoch-end 1',
    'epoch-begin 2', 'batch-begin 2.1', 'batch-end 2.1 true', 'batch-begin 2.2', 'batch-end 2.2 true', 'validate 2 after 2', 'epoch-end 2',
    'train-end',
  ]);
});

test('a callback can stop training mid-epoch: that epoch is not recorded and the log says why', async () => {
  const lines: string[] = [];
  const stopper: Callback = {
    onBatchEnd: (run: TrainingRun, batch) => {
      if (batch.epoch === 2 && batch.step === 1) run.stop('enough');
    },
  };
  const result = await fit(linearNet(1), { epochs: 5, ...loaders(3), inputShape: TINY_INPUT_SHAPE, optimizer: { kind: 'sgd' }, lr: 0.01, log: (l) => lines.push(l), callbacks: [stopper] });
  assert.equal(result.history.length, 1);
  assert.equal(result.stoppedEarly, 'enough');
  assert.equal(result.interrupted, false);
  assert.ok(lines.some((l) => /^Stopped in epoch 2 \(enough\)/.test(l)), lines.join('\n'));
});

test('early stopping: stops after `patience` epochs without improvement (scripted metric) and restores the best weights', async () => {
  // The validation accuracies of a run, and one weight that changes every epoch.
  const accuracies = [0.5, 0.7, 0.6, 0.65, 0.9, 0.95];
  const weight = { name: 'w', data: Float32Array.of(0) };
  const lines: string[] = [];
  let stopped: string | undefined;
  const run = {
    net: { parameters: () => [weight] }, log: (l: string) => lines.push(l), stop: (reason: string) => { stopped = reason; },
  } as unknown as TrainingRun;
  const early = new EarlyStopping({ patience: 2 });
  let epoch = 0;
  for (const accuracy of accuracies) {
    epoch++;
    weight.data = Float32Array.of(epoch * 10);
    early.onEpochEnd(run, { record: { epoch, trainLoss: 1, trainAccuracy: 0, valAccuracy: accuracy, epochMs: 1, stepMs: 1, learningRate: 0.1 }, improved: false });
    if (stopped) break;
  }
  assert.equal(epoch, 4, 'best at epoch 2, no improvement in 3 and 4');
  assert.equal(early.stoppedAfter, 4);
  assert.match(lines.join('\n'), /Early stopping after epoch 4: validation accuracy did not improve for 2 epochs \(best 0\.700 at epoch 2\); restoring the weights of epoch 2/);
  early.onTrainEnd();
  assert.deepEqual([...weight.data], [20]);

  // On the loss, lower is better.
  const byLoss = new EarlyStopping({ patience: 1, monitor: 'loss' });
  stopped = undefined;
  const losses = [1.0, 0.8, 0.9];
  losses.forEach((valLoss, i) => byLoss.onEpochEnd(run, { record: { epoch: i + 1, trainLoss: 1, trainAccuracy: 0, valLoss, valAccuracy: 0, epochMs: 1, stepMs: 1, learningRate: 0.1 }, improved: false }));
  assert.equal(byLoss.stoppedAfter, 3);
  assert.throws(() => new EarlyStopping({ patience: 0 }), /patience must be a positive integer/);
});

test('early stopping in fit: the run ends at best epoch + patience and the network holds the best epoch\'s weights', async () => {
  const net = linearNet(4);
  const perEpoch: Array<Map<string, Float32Array>> = [];
  const keeper: Callback = { onEpochEnd: (run) => void perEpoch.push(snapshot(run.net)) };
  const patience = 2;
  const lines: string[] = [];
  // A high rate makes the validation accuracy move around instead of climbing steadily.
  const result = await fit(net, {
    epochs: 40, ...loaders(5), inputShape: TINY_INPUT_SHAPE, optimizer: { kind: 'sgd' }, lr: 0.5, log: (l) => lines.push(l),
    callbacks: [keeper, new EarlyStopping({ patience })],
  });
  const accuracies = result.history.map((h) => h.valAccuracy);
  // The rule, written out independently: stop once `patience` epochs pass without beating the best.
  let best = -1;
  let bestEpoch = 0;
  let expectedStop = 0;
  for (let i = 0; i < accuracies.length; i++) {
    if (accuracies[i]! > best) {
      best = accuracies[i]!;
      bestEpoch = i + 1;
    } else if (i + 1 - bestEpoch >= patience) {
      expectedStop = i + 1;
      break;
    }
  }
  assert.ok(result.stoppedEarly, `did not stop within 40 epochs: ${accuracies.join(', ')}`);
  assert.equal(result.history.length, expectedStop);
  assert.equal(result.bestEpoch, bestEpoch);
  const final = snapshot(net);
  for (const [name, data] of perEpoch[bestEpoch - 1]!) assert.deepEqual(final.get(name), data, `${name} is the best epoch's`);
  assert.notDeepEqual(perEpoch[expectedStop - 1]!.get('1.weight'), final.get('1.weight'));
  assert.ok(lines.some((l) => l.startsWith(`Early stopping after epoch ${expectedStop}`)));
});

test('keepLast: false writes best.ckpt only, reports no last checkpoint, and refuses resume', async () => {
  const { mkdtemp, readdir, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tlkit-keeplast-'));
  try {
    const result = await fit(linearNet(3), { ...loaders(3), epochs: 2, inputShape: TINY_INPUT_SHAPE, optimizer: { kind: 'sgd' }, lr: 0.1, checkpointDir: dir, keepLast: false, log: () => undefined });
    assert.deepEqual(await readdir(dir), ['best.ckpt']);
    assert.equal(result.lastCheckpoint, undefined);
    assert.equal(result.bestCheckpoint, path.join(dir, 'best.ckpt'));
    await assert.rejects(
      fit(linearNet(3), { ...loaders(3), epochs: 2, inputShape: TINY_INPUT_SHAPE, optimizer: { kind: 'sgd' }, lr: 0.1, checkpointDir: dir, keepLast: false, resume: true, log: () => undefined }),
      /keepLast: false/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
