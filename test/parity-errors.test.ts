/**
 * Bad input into a model, and weights that do not fit it: each error names the tensor and both
 * shapes, so a wrong image size or the wrong checkpoint is found from the message alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadParamIntoNet } from '../src/io/load-params.js';
import { fromCanonicalNames } from '../src/io/names.js';
import { resnet18, type ResNet } from '../src/models/resnet.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { TrainStep } from '../src/runtime/train-step.js';
import type { HostTensor } from '../src/tensor.js';
import { formulaTensor } from './helpers/parity.js';

function smallNet(): ResNet {
  return resnet18({ numClasses: 5, padMode: 'pad', width: 8 });
}

/** A complete torchvision-named state dict for the net, from the parity formula. */
function torchStateFor(net: ResNet): Map<string, HostTensor> {
  const canonical = new Map(net.parameters().map((p, i) => [p.name, { dtype: 'float32' as const, shape: [...p.shape], data: formulaTensor(p.shape, { seed: i + 1, offset: 0.5, scale: 0.25 }) }]));
  return fromCanonicalNames(canonical, 'torchvision');
}

test('an image without a channel axis: the error names conv1.weight, the expected and the given shape', async () => {
  await assert.rejects(InferenceRunner.create(smallNet(), [32, 32]), (error: Error) => {
    assert.match(error.message, /conv1\.weight/);
    assert.match(error.message, /\[N, 3, H, W\]/);
    assert.match(error.message, /\[1, 32, 32\]/);
    return true;
  });
});

test('a grayscale image into an RGB model: the error names conv1.weight and both channel counts', async () => {
  await assert.rejects(InferenceRunner.create(smallNet(), [1, 32, 32]), (error: Error) => {
    assert.match(error.message, /conv1\.weight expects input \[N, 3, H, W\], got \[1, 1, 32, 32\]/);
    return true;
  });
  await assert.rejects(
    TrainStep.create(smallNet(), { inputShape: [4, 32, 32], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true }),
    /conv1\.weight expects input \[N, 3, H, W\], got \[1, 4, 32, 32\]/,
  );
});

test('a batch whose size does not match its data is refused before ORT sees it', async () => {
  const runner = await InferenceRunner.create(smallNet(), [3, 32, 32], { threads: 1 });
  try {
    await assert.rejects(runner.run(new Float32Array(3 * 32 * 32 + 1), 1), /input has 3073 values; 1 samples of \[3, 32, 32\] need 3072/);
  } finally {
    await runner.release();
  }
});

test('strict loading: a head of another class count is named with both shapes and nothing is loaded', () => {
  const net = smallNet();
  const state = torchStateFor(net);
  state.set('fc.weight', { dtype: 'float32', shape: [10, 64], data: new Float32Array(640) });
  state.set('fc.bias', { dtype: 'float32', shape: [10], data: new Float32Array(10) });
  const before = Float32Array.from(net.conv1.weight.data);
  assert.throws(() => loadParamIntoNet(net, state, { strict: true }), (error: Error) => {
    assert.match(error.message, /fc\.weight: net expects \[5, 64\], file has \[10, 64\]/);
    assert.match(error.message, /fc\.bias: net expects \[5\], file has \[10\]/);
    return true;
  });
  assert.deepEqual(net.conv1.weight.data, before, 'a failed strict load leaves every parameter as it was');
});

test('strict loading: a conv weight with swapped axes is named (in tlkit terms) with both shapes', () => {
  const net = smallNet();
  const state = torchStateFor(net);
  const original = state.get('layer2.0.downsample.0.weight')!;
  const [out, inChannels, kh, kw] = original.shape as [number, number, number, number];
  state.set('layer2.0.downsample.0.weight', { ...original, shape: [inChannels, out, kh, kw] });
  assert.throws(
    () => loadParamIntoNet(net, state, { strict: true }),
    new RegExp(`layer2\\.0\\.down_sample\\.0\\.weight: net expects \\[${out}, ${inChannels}, 1, 1\\], file has \\[${inChannels}, ${out}, 1, 1\\]`),
  );
});

test('the same torchvision state dict loads strictly when nothing is wrong (the checks above are not blanket failures)', () => {
  const net = smallNet();
  const state = torchStateFor(net);
  const report = loadParamIntoNet(net, state, { strict: true });
  assert.equal(report.convention, 'torchvision');
  assert.equal(report.loaded.length, net.parameters().length);
  assert.deepEqual(net.norm.movingVariance.data, state.get('bn1.running_var')!.data);
});
