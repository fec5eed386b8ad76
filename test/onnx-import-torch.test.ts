/**
 * ONNX files written by torch.onnx.export from torchvision models (tools/onnx_reference.py, run here
 * when Debian's /usr/bin/python3 has torch): tlkit's import against PyTorch's own values.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serializeGraph } from '../src/graph/onnx.js';
import { readNpy } from '../src/io/npy.js';
import { toFloat32 } from '../src/io/dtype.js';
import { importOnnx } from '../src/onnx-import/load.js';
import type { ImportedModel } from '../src/onnx-import/model.js';
import { buildTrainingGraph } from '../src/runtime/compile.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { Session, type Feed } from '../src/runtime/session.js';
import { stagesOf } from '../src/runtime/stages.js';
import { repoRoot } from './helpers/cli.js';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { loadModel } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { replaceHead, trainFixedFeature } from '../src/transfer/strategies.js';
import type { Module } from '../src/nn/module.js';

const PYTHON = '/usr/bin/python3';

function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

const skip = torchAvailable() ? false : `${PYTHON} with torch and torchvision is not installed`;

interface GradientReference {
  onnx: string;
  loss: string;
  grads: Array<{ name: string; shape: number[]; file: string }>;
}

interface Reference {
  size: number;
  classes: number;
  models: Record<string, { onnx: string; logits: string; features: string }>;
  folded: GradientReference;
  train: GradientReference;
}

/** max |a - b| / max |b|: the error on the scale of the reference values. */
function scaledError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let error = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    error = Math.max(error, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return error / scale;
}

function relativeL2(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

describe('torch.onnx.export files from torchvision', { skip }, () => {
  let dir: string;
  let reference: Reference;
  let input: Float32Array;
  let labels: number[];
  const npy = async (name: string) => toFloat32(await readNpy(path.join(dir, name)));

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tlkit-onnx-ref-'));
    execFileSync(PYTHON, [path.join(repoRoot, 'tools/onnx_reference.py'), dir], { stdio: 'ignore', timeout: 300_000 });
    reference = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    input = await npy('input.npy');
    labels = Array.from((await readNpy(path.join(dir, 'labels.npy'))).data as BigInt64Array, Number);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const model of ['resnet18', 'mobilenet_v2']) {
    test(`${model}: batch-1 export runs batched; logits equal PyTorch's, cut features equal its penultimate activations`, async () => {
      const files = reference.models[model]!;
      const net = await importOnnx(path.join(dir, files.onnx));
      assert.deepEqual(net.inputShape, [3, reference.size, reference.size]);
      const runner = await InferenceRunner.create(net, net.inputShape);
      const features = await InferenceRunner.create(net.bodyStages(), net.inputShape);
      try {
        const logits = await runner.run(input, 3);
        assert.deepEqual(logits.shape, [3, reference.classes]);
        const logitError = scaledError(logits.data, await npy(files.logits));
        assert.ok(logitError < 1e-4, `logits differ from PyTorch's by ${logitError} of their scale`);
        const out = await features.run(input, 3);
        assert.equal(out.shape[1], net.featureChannels);
        const featureError = scaledError(out.data, await npy(files.features));
        assert.ok(featureError < 1e-4, `features at ${net.cut} differ from PyTorch's penultimate activations by ${featureError} of their scale`);
        console.log(`${model}: logits vs PyTorch ${logitError.toExponential(2)}, features at ${net.cut} vs PyTorch's penultimate ${featureError.toExponential(2)} (max abs error / max |value|)`);
      } finally {
        await runner.release();
        await features.release();
      }
    });
  }

  /** One training step of the whole imported network with `grad:<name>` outputs, against PyTorch's float64 gradients. */
  async function gradientParity(ref: GradientReference, label: string): Promise<void> {
    const net: ImportedModel = await importOnnx(path.join(dir, ref.onnx));
    net.unfreeze();
    net.train(true);
    const built = buildTrainingGraph(stagesOf(net), {
      batchSize: 3, inputShape: net.inputShape, optimizer: { kind: 'sgd' }, bnTraining: true, outputGradients: true,
    });
    const feeds: Record<string, Feed> = {
      input: { data: input, shape: [3, ...net.inputShape] },
      labels: { data: BigInt64Array.from(labels.map(BigInt)), shape: [3] },
      learning_rate: { data: Float32Array.of(0.1), shape: [] },
    };
    for (const p of [...built.trainable, ...built.statistics]) feeds[p.name] = { data: p.data, shape: p.shape };
    const session = await Session.create(serializeGraph(built.graph, 'grad-parity'));
    try {
      const outputs = await session.run(feeds);
      const loss = (outputs.loss!.data as Float32Array)[0]!;
      const torchLoss = (await npy(ref.loss))[0]!;
      assert.ok(Math.abs(loss - torchLoss) / torchLoss < 1e-4, `loss ${loss} vs PyTorch's ${torchLoss}`);
      // The file's initializers keep their names (torch's parameter names here); the Gemm head becomes fc.weight, fc.bias.
      let worst = 0;
      for (const g of ref.grads) {
        const ours = outputs[`grad:${g.name}`];
        assert.ok(ours, `the training graph outputs the gradient of ${g.name}`);
        const error = relativeL2(ours.data as Float32Array, await npy(g.file));
        worst = Math.max(worst, error);
        assert.ok(error < 1e-3, `${g.name}: gradient differs from PyTorch's by ${error} (relative L2)`);
      }
      assert.equal(built.trainable.length, ref.grads.length, 'every parameter was compared');
      console.log(`${label} gradient parity: worst relative L2 error ${worst.toExponential(2)} over ${ref.grads.length} tensors`);
    } finally {
      await session.release();
    }
  }

  test('BN-folded resnet18: a fine-tuning step\'s loss and gradients equal PyTorch\'s within 1e-3 relative', async () => {
    await gradientParity(reference.folded, 'BN-folded resnet18');
  });

  test('resnet18 exported in training mode (BatchNormalization kept): a train-mode step\'s gradients equal PyTorch\'s within 1e-3 relative', async () => {
    await gradientParity(reference.train, 'resnet18 with BatchNormalization (batch statistics)');
  });

  test('fixed-feature transfer from the imported resnet18 gives the per-epoch losses of native resnet18 loaded from the same weights as safetensors', async () => {
    const count = 12;
    const per = 3 * reference.size * reference.size;
    const images = Float32Array.from({ length: count * per }, (_, i) => Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.7));
    const dataset = new InMemoryDataset({ images, shape: [count, 3, reference.size, reference.size], labels: Int32Array.from({ length: count }, (_, i) => i % 2), classNames: ['a', 'b'] });
    const run = async (net: Module & Parameters<typeof replaceHead>[0]) => {
      seedInitializers(11);
      replaceHead(net, 2);
      const result = await trainFixedFeature(net, {
        epochs: 3, train: new DataLoader(dataset, { batchSize: 4, shuffle: true, seed: 3 }), inputShape: [3, reference.size, reference.size],
        optimizer: { kind: 'sgd' }, lr: 2e-4, log: () => {}, progress: false,
      });
      return result.history.map((h) => h.trainLoss);
    };
    const { net: native } = await loadModel('resnet18', { weights: path.join(dir, 'resnet18.safetensors'), padMode: 'pad' });
    const nativeLosses = await run(native);
    const importedLosses = await run(await importOnnx(path.join(dir, 'resnet18.onnx')));
    assert.equal(importedLosses.length, 3);
    assert.ok(nativeLosses[2]! < nativeLosses[0]!, `the head learns (losses ${nativeLosses.join(', ')})`);
    importedLosses.forEach((loss, i) => {
      assert.ok(Math.abs(loss - nativeLosses[i]!) <= 1e-4 * nativeLosses[i]!, `epoch ${i + 1}: imported ${loss} vs native ${nativeLosses[i]}`);
    });
    console.log(`fixed-feature per-epoch losses: native ${nativeLosses.join(', ')}; imported ${importedLosses.join(', ')}`);
  });
});
