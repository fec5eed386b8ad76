import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli.js';
import { resnet18 } from '../src/models/resnet.js';
import { seedInitializers } from '../src/nn/init.js';
import { fromCanonicalNames } from '../src/io/names.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { writeNpy } from '../src/io/npy.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { mulberry32, fillNormal } from '../src/util/random.js';
import type { HostTensor } from '../src/tensor.js';

async function fixture() {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-predict-'));
  seedInitializers(3);
  const net = resnet18({ numClasses: 4, padMode: 'pad' });
  const random = mulberry32(5);
  for (const p of net.parameters()) {
    if (p.name.endsWith('moving_variance')) p.data.fill(1.3);
    else if (p.name.endsWith('moving_mean')) fillNormal(p.data, random, 0, 0.1);
  }
  const canonical = new Map<string, HostTensor>(net.parameters().map((p) => [p.name, { dtype: 'float32', shape: [...p.shape], data: p.data }]));
  const weights = path.join(dir, 'model.safetensors');
  await writeSafetensors(weights, fromCanonicalNames(canonical, 'torchvision'));
  const input = fillNormal(new Float32Array(3 * 3 * 40 * 40), random, 0, 1);
  const npy = path.join(dir, 'x.npy');
  await writeNpy(npy, { dtype: 'float32', shape: [3, 3, 40, 40], data: input });
  return { dir, net, weights, npy, input };
}

test('tlkit predict runs a .npy batch through torchvision-named safetensors weights', async () => {
  const { net, weights, npy, input } = await fixture();
  const result = await runCli(['predict', npy, '--model', 'resnet18', '--weights', weights, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const predictions = JSON.parse(result.stdout) as Array<{ logits: number[]; probabilities: number[]; label: number }>;
  assert.equal(predictions.length, 3);
  const runner = await InferenceRunner.create(net, [3, 40, 40]);
  const expected = await runner.run(input, 3);
  await runner.release();
  predictions.forEach((p, i) => {
    assert.equal(p.logits.length, 4);
    p.logits.forEach((v, c) => assert.ok(Math.abs(v - expected.data[i * 4 + c]!) < 1e-4, `logit ${i},${c}`));
    assert.ok(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.equal(p.label, p.logits.indexOf(Math.max(...p.logits)));
  });
});

test('tlkit predict: bad input gets a one-line reason and a non-zero exit', async () => {
  const { dir, weights, npy } = await fixture();
  const unknown = await runCli(['predict', npy, '--model', 'resnet7', '--weights', weights, '--json']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown model "resnet7".*resnet18/);

  const wrongChannels = path.join(dir, 'gray.npy');
  await writeNpy(wrongChannels, { dtype: 'float32', shape: [1, 1, 32, 32], data: new Float32Array(1024) });
  const channels = await runCli(['predict', wrongChannels, '--model', 'resnet18', '--weights', weights]);
  assert.notEqual(channels.code, 0);
  assert.match(channels.stderr, /gray\.npy: the model takes 3 channels, the tensor \[1, 1, 32, 32\] has 1/);

  const wrongRank = path.join(dir, 'flat.npy');
  await writeNpy(wrongRank, { dtype: 'float32', shape: [2, 12], data: new Float32Array(24) });
  const rank = await runCli(['predict', wrongRank, '--model', 'resnet18', '--weights', weights]);
  assert.notEqual(rank.code, 0);
  assert.match(rank.stderr, /flat\.npy: expected an NCHW tensor of rank 4.*\[2, 12\]/);

  const mismatch = await runCli(['predict', npy, '--model', 'resnet34', '--weights', weights]);
  assert.notEqual(mismatch.code, 0);
  assert.match(mismatch.stderr, /cannot load .*model\.safetensors into resnet34/);

  const deeper = await runCli(['predict', npy, '--model', 'resnet50', '--weights', weights]);
  assert.notEqual(deeper.code, 0);
  assert.match(deeper.stderr, /layer1\.0\.conv1\.weight: the model expects \[64, 64, 1, 1\], .* has \[64, 64, 3, 3\]/);
});
