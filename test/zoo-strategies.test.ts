/**
 * Every transfer strategy on every zoo family, on tiny synthetic 3x32x32 images: fixed features
 * (only the family's head, `classifier.*`, changes), fine-tuning from a stage (`features.N`:
 * earlier steps untouched, BN statistics updated in the trained part), BN frozen (no running
 * statistic moves), feature extraction and ONNX export equal to the inference graph.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { createModel } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { Session, float32Output } from '../src/runtime/session.js';
import { fineTune, replaceHead, trainFixedFeature } from '../src/transfer/strategies.js';
import { exportInferenceOnnx } from '../src/transfer/export.js';
import { featureStages } from '../src/cli/features.js';
import { mulberry32 } from '../src/util/random.js';

const SIDE = 32;
const SHAPE = [3, SIDE, SIDE];

function images(count: number): InMemoryDataset {
  const random = mulberry32(3);
  const plane = SIDE * SIDE;
  const data = new Float32Array(count * 3 * plane);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 2;
    for (let i = 0; i < 3 * plane; i++) data[n * 3 * plane + i] = (labels[n] === ((i % SIDE) < SIDE / 2 ? 0 : 1) ? 1 : -1) * 0.5 + (random() - 0.5);
  }
  return new InMemoryDataset({ images: data, shape: [count, 3, SIDE, SIDE], labels, classNames: ['a', 'b'] });
}

/** [model, a stage to fine-tune from, a parameter before it, one at/after it]; ConvNeXt's weights barely move once its head fits (updates below float32's resolution), its zero-initialised biases do. */
const CASES = [
  ['mobilenet_v3_small', 'features.9', 'features.8.block.0.0.weight', 'features.10.block.0.0.weight'],
  ['mobilenet_v2', 'features.15', 'features.14.conv.0.0.weight', 'features.16.conv.0.0.weight'],
  ['efficientnet_b0', 'features.6', 'features.5.2.block.0.0.weight', 'features.6.1.block.0.0.weight'],
  ['convnext_tiny', 'features.7', 'features.5.8.block.0.bias', 'features.7.1.block.0.bias'],
] as const;

for (const [model, fromStage, before, after] of CASES) {
  test(`${model}: fixed features, fine-tune from ${fromStage}, BN frozen, features and export`, async () => {
    // Seed 1's random EfficientNet-B0 (with the polar normal draws) reaches logits ~50 fine-tuning from
    // features.6 at lr 0.05 and overflows to NaN once fine-tuned whole with BN on untrained statistics;
    // with seed 2 ConvNeXt's last block bias stays put. Seeds 3 and 4 pass every family.
    seedInitializers(3);
    const net = replaceHead(createModel(model, { numClasses: 10, smallInput: true, dropout: 0.2 }), 2);
    assert.equal(net.numClasses(), 2);
    const snapshot = () => new Map(net.parameters().map((p) => [p.name, Float32Array.from(p.data)]));
    const changedSince = (saved: Map<string, Float32Array>) => (name: string) => {
      const p = net.parameters().find((q) => q.name === name);
      assert.ok(p, `${model} has ${name}`);
      return p.data.some((v, i) => v !== saved.get(name)![i]);
    };
    const common = { epochs: 1, train: new DataLoader(images(8), { batchSize: 4, shuffle: true, seed: 1 }), inputShape: SHAPE, optimizer: { kind: 'momentum' as const, momentum: 0.9 }, lr: 0.05, log: () => undefined };

    let saved = snapshot();
    // The backbone's BN on batch statistics (the tutorial's variant): a randomly initialised
    // EfficientNet or MobileNetV2 with untrained running statistics has vanishing activations
    // (torchvision's fan-out init of depthwise kernels), so its head would get no gradient.
    await trainFixedFeature(net, { ...common, backboneBnTraining: true });
    let changed = changedSince(saved);
    const head = net.parameters().filter((p) => p.name.startsWith('classifier.') && p.kind === 'weight');
    assert.ok(head.length > 0 && head.every((p) => changed(p.name)), 'every head weight trained');
    for (const p of net.parameters()) if (!p.name.startsWith('classifier.') && p.kind === 'weight') assert.ok(!changed(p.name), `${p.name} changed while frozen`);

    saved = snapshot();
    await fineTune(net, { ...common, fromStage });
    changed = changedSince(saved);
    if (process.env.ZOO_DEBUG) console.log(net.parameters().filter((p) => changed(p.name)).map((p) => p.name).join(' '));
    assert.ok(!changed(before), `${before} is before ${fromStage}`);
    assert.ok(changed(after), `${after} trained`);
    const statistic = net.parameters().find((p) => p.kind === 'running-statistic' && p.name.startsWith(after.split('.').slice(0, 2).join('.')));
    if (statistic) assert.ok(changed(statistic.name), `${statistic.name}: BN in training mode updates its statistics`);

    saved = snapshot();
    await fineTune(net, { ...common, bnTraining: false });
    changed = changedSince(saved);
    for (const p of net.parameters()) if (p.kind === 'running-statistic') assert.ok(!changed(p.name), `${p.name} moved with BN frozen`);
    assert.ok(net.parameters().some((p) => p.kind === 'weight' && !p.name.startsWith('classifier.') && changed(p.name)), 'body weights train when nothing is frozen');

    const input = images(2).images as Float32Array;
    const runner = await InferenceRunner.create(net, SHAPE, { threads: 1 });
    const features = await InferenceRunner.create(featureStages(net, 'flatten'), SHAPE, { threads: 1 });
    const session = await Session.create(exportInferenceOnnx(net, { inputShape: SHAPE, name: model }), { threads: 1 });
    try {
      const logits = await runner.run(input, 2);
      assert.deepEqual(logits.shape, [2, 2]);
      assert.deepEqual((await features.run(input, 2)).shape, [2, net.featureChannels]);
      const exported = float32Output(await session.run({ input: { data: input, shape: [2, ...SHAPE] } }), 'output');
      exported.forEach((v, i) => assert.ok(Math.abs(v - logits.data[i]!) < 1e-4, `exported logit ${i}`));
    } finally {
      await runner.release();
      await features.release();
      await session.release();
    }
  });
}
