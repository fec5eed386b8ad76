import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { formatWeightsReport, inspectWeights } from '../src/cli/inspect.js';
import { detectPickle } from '../src/io/pickle-guard.js';
import { readWeights } from '../src/io/weights.js';

const PYTHON = '/usr/bin/python3';
const pythonHasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'tlkit-pickle-'));
}

function zipLocalHeader(name: string): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, Buffer.from(name, 'latin1'), Buffer.alloc(16)]);
}

test('pickles are recognised by their bytes and refused with a safetensors conversion hint, whatever the extension', async () => {
  assert.equal(detectPickle(zipLocalHeader('archive/data.pkl')), 'torch-zip');
  assert.equal(detectPickle(Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00])), 'pickle');
  assert.equal(detectPickle(zipLocalHeader('images/cat.jpg')), null);
  assert.equal(detectPickle(Buffer.from([0x0a, 0x10])), null);
  const dir = scratch();
  const disguised = path.join(dir, 'resnet.ckpt');
  writeFileSync(disguised, zipLocalHeader('resnet/data.pkl'));
  await assert.rejects(readWeights(disguised), /resnet\.ckpt: a PyTorch zip checkpoint .*never unpickles.*safetensors\.torch import save_file/);
  const legacy = path.join(dir, 'old.pth');
  writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  await assert.rejects(inspectWeights(legacy), /old\.pth: a Python pickle .*convert it once with Python/);
});

test('files torch.save writes (zip and legacy) are refused without being executed', { skip: pythonHasTorch ? false : `${PYTHON} lacks torch` }, async () => {
  const dir = scratch();
  const marker = path.join(dir, 'executed');
  // A pickle that would create `marker` if anything unpickled it.
  const script = `
import torch, sys, os
class Boom:
    def __reduce__(self):
        return (open, (sys.argv[2], 'w'))
torch.save({'w': torch.ones(2), 'boom': Boom()}, os.path.join(sys.argv[1], 'new.pt'))
torch.save({'w': torch.ones(2)}, os.path.join(sys.argv[1], 'legacy.pth'), _use_new_zipfile_serialization=False)
`;
  const made = spawnSync(PYTHON, ['-c', script, dir, marker], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  await assert.rejects(readWeights(path.join(dir, 'new.pt')), /new\.pt: a PyTorch zip checkpoint/);
  await assert.rejects(readWeights(path.join(dir, 'legacy.pth')), /legacy\.pth: a Python pickle/);
  assert.equal(spawnSync('test', ['-e', marker]).status, 1, 'nothing was unpickled');
});

test('inspect reports names, dtypes, shapes, parameter count and optimizer state of a checkpoint', async () => {
  const report = await inspectWeights(path.resolve('fixtures/real/mindspore-ckpt/mindarmour__checkpoint_lenet-10_1875.ckpt'));
  assert.equal(report.format, 'mindspore-ckpt');
  assert.equal(report.tensors.length, 18);
  // LeNet-5: 150 + 2400 + 48000 + 120 + 10080 + 84 + 840 + 10 weights; moments.* and scalars excluded.
  assert.equal(report.parameterCount, 61684);
  assert.equal(report.optimizerCount, 10);
  assert.deepEqual(report.tensors[0], { name: 'conv1.weight', dtype: 'float32', shape: [6, 1, 5, 5], numel: 150, optimizer: false });
  const text = formatWeightsReport(report);
  assert.match(text, /18 tensors, 61,684 parameters/);
  assert.match(text, /^fc1\.weight\s+float32\s+\[120, 400\]\s+48000$/m);
  assert.match(text, /^learning_rate \(optimizer\)\s+float64\s+\[\]\s+1$/m);
});

test('inspect summarises an ONNX model (opset, inputs, outputs, initializers) and a sharded safetensors index', async () => {
  const onnx = await inspectWeights(path.resolve('fixtures/real/onnx/onnx__light_resnet50.onnx'));
  assert.equal(onnx.format, 'onnx');
  assert.deepEqual(onnx.onnx?.opsets, [{ domain: 'ai.onnx', version: 9 }]);
  assert.deepEqual(onnx.onnx?.inputs, [{ name: 'gpu_0/data_0', elemType: 'float32', shape: [1, 3, 224, 224] }]);
  assert.deepEqual(onnx.onnx?.outputs, [{ name: 'gpu_0/softmax_1', elemType: 'float32', shape: [1, 1000] }]);
  assert.equal(onnx.tensors.length, 269);
  const sharded = await inspectWeights(path.resolve('fixtures/real/safetensors/SafeTensors.jl/sharded/model.safetensors.index.json'));
  assert.equal(sharded.format, 'safetensors-index');
  assert.equal(sharded.tensors.length, 36);
  assert.deepEqual(sharded.metadata, { format: 'pt' });
});

test('`tlkit inspect --json` prints only JSON; bad files exit 1 with a one-line message', () => {
  const file = path.resolve('fixtures/real/safetensors/hf_safetensors__overall.safetensors');
  const result = spawnSync(process.execPath, ['bin/tlkit.js', 'inspect', file, '--json'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout) as { format: string; parameterCount: number; tensors: { name: string; dtype: string }[] };
  assert.equal(json.format, 'safetensors');
  assert.equal(json.parameterCount, 54);
  assert.deepEqual(json.tensors.map((t) => `${t.name}:${t.dtype}`), ['B:uint8', 'H:uint16', 'I:uint32', 'b:int8', 'd:float64', 'e:float16', 'f:float32', 'h:int16', 'i:int32']);
  const bad = path.join(scratch(), 'junk.safetensors');
  writeFileSync(bad, Buffer.from('\x40\x00\x00\x00\x00\x00\x00\x00{"x": 1}', 'latin1'));
  const failed = spawnSync(process.execPath, ['bin/tlkit.js', 'inspect', bad], { encoding: 'utf8' });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^tlkit: .*junk\.safetensors: /);
  assert.equal(failed.stderr.trim().split('\n').length, 1);
});
