import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint } from './helpers/tutorial-fixtures.js';
import { writeNpy } from '../src/io/npy.js';
import { fillNormal, mulberry32 } from '../src/util/random.js';

let dir: string;
let weights: string;
let onnxFile: string;
let npy: string;
let input: Float32Array;
let predicted: Array<{ logits: number[]; probabilities: number[] }>;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-export-'));
  weights = path.join(dir, 'best.ckpt');
  await writeMindSporeResNetCheckpoint(weights, 'resnet18', 3);
  onnxFile = path.join(dir, 'model.onnx');
  const exported = await runCli(['export', weights, '--model', 'resnet18', '--image-size', '64', '--with-softmax', '--out', onnxFile]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /wrote .*model\.onnx \(\d+\.\d MB, 3 classes\)/);
  input = fillNormal(new Float32Array(5 * 3 * 64 * 64), mulberry32(11), 0, 1);
  npy = path.join(dir, 'x.npy');
  await writeNpy(npy, { dtype: 'float32', shape: [5, 3, 64, 64], data: input });
  const result = await runCli(['predict', npy, '--model', 'resnet18', '--weights', weights, '--json']);
  assert.equal(result.code, 0, result.stderr);
  predicted = JSON.parse(result.stdout);
});
after(() => rm(dir, { recursive: true, force: true }));

function close(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((v, i) => assert.ok(Math.abs(actual[i]! - v) < 1e-4 * Math.max(1, Math.abs(v)), `${what}[${i}]: ${actual[i]} vs ${v}`));
}

test('tlkit export: the ONNX file runs in a fresh onnxruntime-node session and matches tlkit predict, any batch size', async () => {
  const session = await ort.InferenceSession.create(onnxFile);
  try {
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['output', 'probabilities']);
    for (const batch of [5, 2]) {
      const data = input.slice(0, batch * 3 * 64 * 64);
      const out = await session.run({ input: new ort.Tensor('float32', data, [batch, 3, 64, 64]) });
      assert.deepEqual(out.output!.dims, [batch, 3]);
      close(out.output!.data as Float32Array, predicted.slice(0, batch).flatMap((p) => p.logits), `logits, batch ${batch}`);
      close(out.probabilities!.data as Float32Array, predicted.slice(0, batch).flatMap((p) => p.probabilities), `probabilities, batch ${batch}`);
    }
  } finally {
    await session.release();
  }
});

const python = '/usr/bin/python3';
const pythonOrt = spawnSync(python, ['-c', 'import onnxruntime, numpy'], { stdio: 'ignore' }).status === 0;

test('tlkit export: Python onnxruntime gives the same logits', { skip: pythonOrt ? false : `${python} has no onnxruntime module (the Debian image lacks it), so the file was checked with onnxruntime-node only` }, () => {
  const script = 'import sys, json, numpy as np, onnxruntime as rt\n'
    + 's = rt.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])\n'
    + 'x = np.load(sys.argv[2])\n'
    + 'print(json.dumps(s.run(["output"], {"input": x})[0].tolist()))\n';
  const logits = JSON.parse(execFileSync(python, ['-c', script, onnxFile, npy], { encoding: 'utf8' })) as number[][];
  close(logits.flat(), predicted.flatMap((p) => p.logits), 'python logits');
});

test('tlkit export: a head that does not match --num-classes is refused with the tensor named', async () => {
  const result = await runCli(['export', weights, '--model', 'resnet34', '--out', path.join(dir, 'bad.onnx')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot load .*best\.ckpt into resnet34/);
});
