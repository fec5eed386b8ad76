/**
 * Weights for the zoo models: torchvision-named and timm-named safetensors files (formula weights,
 * 1000 classes, see tools/make-reference.py) load by name detection and reproduce PyTorch's eval
 * logits, in-process for every model and through `tlkit predict` for mobilenet_v3_large; a file of
 * another family or variant fails naming the first tensor that does not fit and the family it looks like.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeSafetensors } from '../src/io/safetensors.js';
import { writeNpy } from '../src/io/npy.js';
import { detectFamily, timmNamesFor } from '../src/io/timm-names.js';
import { createModel, loadModel, torchvisionLayout } from '../src/models/registry.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import type { HostTensor } from '../src/tensor.js';
import { runCli } from './helpers/cli.js';
import { formulaTensor, maxErrorOnScale, readParityFixture, type FormulaSpec } from './helpers/parity.js';

interface PredictFixture {
  input: FormulaSpec & { shape: number[] };
  models: Record<string, { tensors: Array<FormulaSpec & { name: string; shape: number[] }>; logits: number[] }>;
}

const fixture = readParityFixture<PredictFixture>('zoo_predict.json');
const input = formulaTensor(fixture.input.shape, fixture.input);
const TOLERANCE = 1e-4;

function torchvisionWeights(model: string): Map<string, HostTensor> {
  return new Map(fixture.models[model]!.tensors.map((t) => [t.name, { dtype: 'float32', shape: t.shape, data: formulaTensor(t.shape, t) }]));
}

/** The same tensors under timm's names (timm keeps MobileNetV3's hidden head as a 1x1 conv and ConvNeXt's gamma as [C]). */
function renamedToTimm(model: string, weights: Map<string, HostTensor>): Map<string, HostTensor> {
  const names = timmNamesFor(model, torchvisionLayout(createModel(model, { weightInit: { kind: 'constant', value: 0 } })));
  return new Map([...weights].map(([name, t]) => {
    const timm = names.get(name);
    assert.ok(timm, `${model}: no timm name for ${name}`);
    let shape = t.shape;
    if (timm === 'conv_head.weight' && shape.length === 2) shape = [...shape, 1, 1];
    if (timm.endsWith('.gamma')) shape = [shape[0]!];
    return [timm, { ...t, shape }];
  }));
}

async function logitsOf(model: string, file: string): Promise<Float32Array> {
  const { net } = await loadModel(model, { weights: file });
  const runner = await InferenceRunner.create(net, fixture.input.shape.slice(1), { threads: 2 });
  try {
    return (await runner.run(input, fixture.input.shape[0]!)).data;
  } finally {
    await runner.release();
  }
}

describe('zoo weights by name, torchvision and timm', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlkit-zoo-weights-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const model of Object.keys(fixture.models)) {
    test(`${model}: torchvision names and timm names give PyTorch's logits`, async () => {
      const weights = torchvisionWeights(model);
      const tvFile = path.join(dir, `${model}.tv.safetensors`);
      await writeSafetensors(tvFile, weights);
      const timm = renamedToTimm(model, weights);
      assert.equal(detectFamily(timm.keys())?.convention, 'timm');
      assert.equal(detectFamily(weights.keys())?.convention, 'torchvision');
      const timmFile = path.join(dir, `${model}.timm.safetensors`);
      await writeSafetensors(timmFile, timm);
      for (const [label, file] of [['torchvision', tvFile], ['timm', timmFile]] as const) {
        const error = maxErrorOnScale(await logitsOf(model, file), fixture.models[model]!.logits);
        assert.ok(error <= TOLERANCE, `${model} with ${label} names: logits differ by ${error} of their scale`);
      }
      await rm(timmFile);
      if (model !== 'mobilenet_v3_large' && model !== 'efficientnet_b0' && model !== 'mobilenet_v3_small') await rm(tvFile);
    });
  }

  test('tlkit predict x.npy --model mobilenet_v3_large --weights w.safetensors --num-classes 1000 --json reproduces PyTorch (torchvision and timm names)', async () => {
    const npy = path.join(dir, 'x.npy');
    await writeNpy(npy, { dtype: 'float32', shape: fixture.input.shape, data: input });
    const weights = torchvisionWeights('mobilenet_v3_large');
    const timmFile = path.join(dir, 'mobilenet_v3_large.timm-cli.safetensors');
    await writeSafetensors(timmFile, renamedToTimm('mobilenet_v3_large', weights));
    for (const file of [path.join(dir, 'mobilenet_v3_large.tv.safetensors'), timmFile]) {
      const result = await runCli(['predict', npy, '--model', 'mobilenet_v3_large', '--weights', file, '--num-classes', '1000', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const predictions = JSON.parse(result.stdout) as Array<{ logits: number[] }>;
      assert.equal(predictions.length, fixture.input.shape[0]);
      const error = maxErrorOnScale(predictions.flatMap((p) => p.logits), fixture.models.mobilenet_v3_large!.logits);
      assert.ok(error <= TOLERANCE, `${file}: logits differ by ${error}`);
    }
  });

  test('a file of another family or variant: the first tensor that does not fit, and the family the file looks like', async () => {
    const effnet = path.join(dir, 'efficientnet_b0.tv.safetensors');
    await assert.rejects(loadModel('mobilenet_v3_large', { weights: effnet }), (error: Error) => {
      assert.match(error.message, /looks like a efficientnet checkpoint with torchvision names/);
      assert.match(error.message, /first features\.\d+\.\S+: (missing|the model expects)/);
      return true;
    });
    const small = path.join(dir, 'mobilenet_v3_small.tv.safetensors');
    await assert.rejects(loadModel('mobilenet_v3_large', { weights: small }), (error: Error) => {
      assert.doesNotMatch(error.message, /looks like/, 'same family: a variant mismatch');
      // MobileNetV3-Small's first block has an SE where Large's has none: its block.1 is the SE, not a conv.
      assert.match(error.message, /into mobilenet_v3_large: first features\.1\.block\.1\.0\.weight: missing from \S+mobilenet_v3_small\.tv\.safetensors; /);
      assert.match(error.message, /features\.2\.block\.0\.0\.weight: the model expects \[64, 16, 1, 1\], \S+ has \[72, 16, 1, 1\]/);
      return true;
    });
    await assert.rejects(loadModel('efficientnet_b1', { weights: effnet }), /first features\.2\.0\.block|first features\.\d+\.\d+\.\S+: missing|cannot load/);
    const cli = await runCli(['predict', path.join(dir, 'x.npy'), '--model', 'resnet18', '--weights', small, '--json']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /looks like a mobilenet_v3 checkpoint/);
  });
});
