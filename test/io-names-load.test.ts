import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { numel, type HostTensor } from '../src/tensor.js';
import { readCheckpoint } from '../src/io/ckpt.js';
import { loadParamIntoNet, type ParameterLike } from '../src/io/load-params.js';
import { canonicalNameToTorch, detectConvention, fromCanonicalNames, toCanonicalNames, torchNameToCanonical } from '../src/io/names.js';

const PYTHON = '/usr/bin/python3';
const pythonHasTorchvision = spawnSync(PYTHON, ['-c', 'import torchvision'], { encoding: 'utf8' }).status === 0;

/** Parameter names and shapes of the MindSpore tutorial's ResNet-50 (tlkit's canonical names). */
function canonicalResnet50(classes = 1000): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const norm = (prefix: string, c: number): void => {
    for (const leaf of ['gamma', 'beta', 'moving_mean', 'moving_variance']) shapes.set(`${prefix}.${leaf}`, [c]);
  };
  shapes.set('conv1.weight', [64, 3, 7, 7]);
  norm('norm', 64);
  let inChannels = 64;
  [3, 4, 6, 3].forEach((blocks, layer) => {
    const c = 64 * 2 ** layer;
    for (let b = 0; b < blocks; b++) {
      const p = `layer${layer + 1}.${b}`;
      shapes.set(`${p}.conv1.weight`, [c, inChannels, 1, 1]);
      norm(`${p}.norm1`, c);
      shapes.set(`${p}.conv2.weight`, [c, c, 3, 3]);
      norm(`${p}.norm2`, c);
      shapes.set(`${p}.conv3.weight`, [4 * c, c, 1, 1]);
      norm(`${p}.norm3`, 4 * c);
      if (b === 0) {
        shapes.set(`${p}.down_sample.0.weight`, [4 * c, inChannels, 1, 1]);
        norm(`${p}.down_sample.1`, 4 * c);
      }
      inChannels = 4 * c;
    }
  });
  shapes.set('fc.weight', [classes, 2048]);
  shapes.set('fc.bias', [classes]);
  return shapes;
}

class FakeNet {
  readonly params: ParameterLike[];
  constructor(shapes: Map<string, number[]>) {
    this.params = [...shapes].map(([name, shape]) => ({ name, shape, data: new Float32Array(numel(shape)) }));
  }
  parameters(): Iterable<ParameterLike> {
    return this.params;
  }
  get(name: string): ParameterLike {
    return this.params.find((p) => p.name === name)!;
  }
}

function filled(shapes: Map<string, number[]>): Map<string, HostTensor> {
  let counter = 0;
  return new Map([...shapes].map(([name, shape]) => {
    const data = new Float32Array(numel(shape));
    // Distinct values per tensor, so a tensor copied into the wrong parameter is noticed.
    for (let i = 0; i < data.length; i++) data[i] = ((counter++ % 9973) - 4986) / 1024;
    return [name, { dtype: 'float32', shape, data }];
  }));
}

test('single names map both ways between the tutorial and torchvision/timm conventions', () => {
  const pairs: [string, string][] = [
    ['conv1.weight', 'conv1.weight'],
    ['norm.gamma', 'bn1.weight'],
    ['norm.beta', 'bn1.bias'],
    ['norm.moving_mean', 'bn1.running_mean'],
    ['norm.moving_variance', 'bn1.running_var'],
    ['layer1.0.conv1.weight', 'layer1.0.conv1.weight'],
    ['layer1.0.norm1.gamma', 'layer1.0.bn1.weight'],
    ['layer3.5.norm3.moving_variance', 'layer3.5.bn3.running_var'],
    ['layer1.0.down_sample.0.weight', 'layer1.0.downsample.0.weight'],
    ['layer1.0.down_sample.1.gamma', 'layer1.0.downsample.1.weight'],
    ['layer4.0.down_sample.1.moving_mean', 'layer4.0.downsample.1.running_mean'],
    ['fc.weight', 'fc.weight'],
    ['fc.bias', 'fc.bias'],
  ];
  for (const [canonical, torch] of pairs) {
    assert.equal(canonicalNameToTorch(canonical), torch);
    assert.equal(torchNameToCanonical(torch), canonical);
  }
  assert.equal(torchNameToCanonical('layer2.0.bn2.num_batches_tracked'), null);
});

test('the convention is detected from the names present', () => {
  assert.equal(detectConvention(['conv1.weight', 'norm.gamma', 'fc.bias']), 'mindspore');
  assert.equal(detectConvention(['conv1.weight', 'bn1.running_mean', 'fc.bias']), 'torchvision');
  assert.equal(detectConvention(['dense1.weight', 'dense1.bias']), 'unknown');
  assert.throws(() => detectConvention(['norm.gamma', 'bn1.running_var']), /mix MindSpore .* and PyTorch/);
  const { params, convention, skipped } = toCanonicalNames(new Map([['module.bn1.weight', 1], ['module.bn1.running_var', 2], ['module.bn1.num_batches_tracked', 3]]));
  assert.equal(convention, 'torchvision');
  assert.deepEqual([...params], [['norm.gamma', 1], ['norm.moving_variance', 2]]);
  assert.deepEqual(skipped, ['bn1.num_batches_tracked']);
});

test('torchvision resnet50 state_dict names and shapes are exactly the canonical ResNet-50 renamed', { skip: pythonHasTorchvision ? false : `${PYTHON} lacks torchvision` }, () => {
  const result = spawnSync(PYTHON, ['-c', 'import json, torchvision; print(json.dumps([[k, list(v.shape)] for k, v in torchvision.models.resnet50().state_dict().items()]))'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const torchShapes = new Map(JSON.parse(result.stdout) as [string, number[]][]);
  const canonical = canonicalResnet50();
  const asTorch = fromCanonicalNames(canonical, 'torchvision');
  const torchWithoutCounters = new Map([...torchShapes].filter(([name]) => !name.endsWith('num_batches_tracked')));
  assert.deepEqual(new Map([...asTorch].sort()), new Map([...torchWithoutCounters].sort()));
  const back = toCanonicalNames(torchShapes);
  assert.equal(back.convention, 'torchvision');
  assert.equal(back.skipped.length, 53);
  assert.deepEqual(new Map([...back.params].sort()), new Map([...canonical].sort()));
});

test('loading torchvision-named weights into a 2-class ResNet-50: everything loads except the mismatched head', () => {
  const net = new FakeNet(canonicalResnet50(2));
  const fileTensors = fromCanonicalNames(filled(canonicalResnet50(1000)), 'torchvision');
  fileTensors.set('bn1.num_batches_tracked', { dtype: 'int64', shape: [], data: new BigInt64Array([100n]) });
  const report = loadParamIntoNet(net, fileTensors);
  assert.equal(report.convention, 'torchvision');
  assert.deepEqual(report.mismatched, [
    { name: 'fc.weight', expected: [2, 2048], got: [1000, 2048] },
    { name: 'fc.bias', expected: [2], got: [1000] },
  ]);
  assert.equal(report.loaded.length, net.params.length - 2);
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.unexpected, []);
  assert.deepEqual(report.skipped, ['bn1.num_batches_tracked']);
  assert.deepEqual(net.get('layer2.0.down_sample.1.gamma').data, fileTensors.get('layer2.0.downsample.1.weight')!.data);
  assert.deepEqual(net.get('fc.bias').data, new Float32Array(2), 'the mismatched head keeps its values');

  const strictNet = new FakeNet(canonicalResnet50(2));
  assert.throws(() => loadParamIntoNet(strictNet, fileTensors, { strict: true }), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /fc\.weight: net expects \[2, 2048\], file has \[1000, 2048\]/);
    assert.match(error.message, /fc\.bias: net expects \[2\], file has \[1000\]/);
    return true;
  });
  assert.deepEqual(strictNet.get('conv1.weight').data, new Float32Array(64 * 3 * 7 * 7), 'a failed strict load changes nothing');
});

test('a real MindSpore training checkpoint: optimizer state is reported apart, dtypes widen, missing and unexpected are named', async () => {
  const contents = await readCheckpoint(path.resolve('fixtures/real/mindspore-ckpt/mindarmour__checkpoint_lenet-10_1875.ckpt'));
  const lenet = new Map<string, number[]>([
    ['conv1.weight', [6, 1, 5, 5]], ['conv2.weight', [16, 6, 5, 5]], ['fc1.weight', [120, 400]], ['fc1.bias', [120]],
    ['fc2.weight', [84, 120]], ['fc2.bias', [84]], ['fc3.weight', [10, 84]], ['extra.bias', [3]],
  ]);
  const net = new FakeNet(lenet);
  const params = new Map(contents.tensors);
  params.delete('fc3.bias');
  params.set('stray.weight', { dtype: 'float16', shape: [1], data: new Uint16Array([0x3c00]) });
  const report = loadParamIntoNet(net, params);
  assert.equal(report.convention, 'unknown');
  assert.deepEqual(report.loaded, ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight']);
  assert.deepEqual(report.missing, ['extra.bias']);
  assert.deepEqual(report.unexpected, ['stray.weight']);
  assert.deepEqual(report.optimizer.sort(), ['learning_rate', 'momentum', ...[...contents.tensors.keys()].filter((n) => n.startsWith('moments.'))].sort());
  assert.deepEqual(net.get('fc1.weight').data, contents.tensors.get('fc1.weight')!.data);
  assert.throws(() => loadParamIntoNet(new FakeNet(lenet), params, { strict: true }),
    /2 tensor\(s\): extra\.bias: missing from the file \(net expects \[3\]\); stray\.weight: in the file \(\[1\]\) but not in the net/);

  const halfNet = new FakeNet(new Map([['w', [2]]]));
  loadParamIntoNet(halfNet, new Map([['w', { dtype: 'bfloat16', shape: [2], data: new Uint16Array([0x3f80, 0xc2f7]) }]]));
  assert.deepEqual(halfNet.get('w').data, new Float32Array([1, -123.5]));
});
