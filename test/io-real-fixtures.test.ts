import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { HostTensor } from '../src/tensor.js';
import { readCheckpoint } from '../src/io/ckpt.js';
import { tensorBytes, toFloat32 } from '../src/io/dtype.js';
import { inspectOnnx, parseOnnxInitializers, parseOnnxTensor } from '../src/io/onnx-inspect.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { readWeightFile, readWeights } from '../src/io/weights.js';

/**
 * Expected values come from tools/weights_reference.py (numpy + a minimal protobuf decoder in
 * Python, no tlkit code), recorded once into fixtures/real/expected-values.json.
 */
const FIXTURES = path.resolve('fixtures/real');
const SHARED = '/work/shared/fixtures/real';

interface ExpectedTensor { name: string; dtype: string | number; shape: number[]; sha256: string; sum: number; first: number[]; dims?: number[] }
interface Expected {
  project: Record<string, ExpectedTensor[] | { metadata: Record<string, string>; tensors: ExpectedTensor[] } | ExpectedOnnx | ExpectedTensor>;
  shared: Record<string, ExpectedTensor[] | { metadata: Record<string, string>; tensors: ExpectedTensor[] } | ExpectedOnnx>;
}
interface ExpectedOnnx { opsets: [string, number][]; initializers: ExpectedTensor[]; inputs: string[]; outputs: string[]; ir_version: number; nodes: number }

const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected-values.json'), 'utf8')) as Expected;

const CKPT_DTYPES: Record<string, string> = { Float32: 'float32', Float64: 'float64', Int32: 'int32' };
const SAFETENSORS_DTYPES: Record<string, string> = {
  F16: 'float16', F32: 'float32', F64: 'float64', BF16: 'bfloat16', I8: 'int8', I16: 'int16', I32: 'int32', I64: 'int64',
  U8: 'uint8', U16: 'uint16', U32: 'uint32', BOOL: 'bool', F8_E4M3: 'float8_e4m3fn', F8_E5M2: 'float8_e5m2',
};
const ONNX_DTYPES: Record<number, string> = { 1: 'float32', 7: 'int64' };

function sha256(tensor: HostTensor): string {
  return createHash('sha256').update(tensorBytes(tensor)).digest('hex');
}

function checkTensor(file: string, actual: HostTensor | undefined, want: ExpectedTensor, dtype: string): void {
  const label = `${file} ${want.name}`;
  assert.ok(actual, `${label}: missing`);
  assert.equal(actual.dtype, dtype, `${label}: dtype`);
  // MindSpore writes scalars as dims [0] holding one element; tlkit reads them as shape [].
  const shape = want.shape.length === 1 && want.shape[0] === 0 && want.first.length === 1 ? [] : want.shape;
  assert.deepEqual(actual.shape, shape, `${label}: shape`);
  assert.equal(sha256(actual), want.sha256, `${label}: raw bytes`);
  const values = toFloat32(actual);
  want.first.forEach((v, i) => {
    if (Number.isNaN(v)) assert.ok(Number.isNaN(values[i]!), `${label}[${i}] should be NaN`);
    else assert.equal(values[i], Math.fround(v), `${label}[${i}]`);
  });
  let sum = 0;
  for (const v of values) if (Number.isFinite(v)) sum += v;
  assert.ok(Math.abs(sum - want.sum) <= 1e-6 * Math.max(1, Math.abs(want.sum)) + 1e-9 * values.length, `${label}: sum ${sum} vs ${want.sum}`);
}

async function checkCheckpoint(file: string, want: ExpectedTensor[]): Promise<void> {
  const contents = await readCheckpoint(file);
  assert.deepEqual([...contents.tensors.keys()], want.map((t) => t.name), `${file}: names in file order`);
  assert.equal(contents.crc, 'absent');
  for (const t of want) checkTensor(file, contents.tensors.get(t.name), t, CKPT_DTYPES[t.dtype as string]!);
}

async function checkSafetensors(file: string, want: { metadata: Record<string, string>; tensors: ExpectedTensor[] }): Promise<void> {
  const contents = await readSafetensors(file);
  assert.deepEqual(contents.metadata, want.metadata);
  assert.deepEqual([...contents.tensors.keys()].sort(), want.tensors.map((t) => t.name).sort(), `${file}: names`);
  for (const t of want.tensors) checkTensor(file, contents.tensors.get(t.name), t, SAFETENSORS_DTYPES[t.dtype as string]!);
}

async function checkOnnx(file: string, want: ExpectedOnnx): Promise<void> {
  const summary = await inspectOnnx(file);
  assert.equal(summary.irVersion, want.ir_version);
  assert.deepEqual(summary.opsets.map((o) => [o.domain, o.version]), want.opsets);
  assert.equal(summary.nodeCount, want.nodes);
  assert.deepEqual(summary.outputs.map((o) => o.name), want.outputs);
  const initializerNames = new Set(want.initializers.map((t) => t.name));
  assert.deepEqual(summary.inputs.map((i) => i.name), want.inputs.filter((n) => !initializerNames.has(n)));
  const initializers = parseOnnxInitializers(readFileSync(file), file);
  assert.equal(initializers.size, want.initializers.length);
  for (const t of want.initializers) checkTensor(file, initializers.get(t.name), t, ONNX_DTYPES[t.dtype as number]!);
}

test('the Apache-2.0 MindArmour LeNet checkpoint reads with the values Python finds', async () => {
  const rel = 'mindspore-ckpt/mindarmour__checkpoint_lenet-10_1875.ckpt';
  await checkCheckpoint(path.join(FIXTURES, rel), expected.project[rel] as ExpectedTensor[]);
  const contents = await readCheckpoint(path.join(FIXTURES, rel));
  // Float64 scalars stored with dims [0]: learning_rate 0.001, momentum 0.9 as Python reads them.
  assert.deepEqual(contents.tensors.get('learning_rate'), { dtype: 'float64', shape: [], data: new Float64Array([0.001]) });
  assert.deepEqual(contents.tensors.get('momentum'), { dtype: 'float64', shape: [], data: new Float64Array([0.9]) });
});

test('every project safetensors fixture reads: names, dtypes (incl. BF16, F8, BOOL), shapes, values, metadata', async () => {
  const files = Object.keys(expected.project).filter((rel) => rel.endsWith('.safetensors'));
  assert.equal(files.length, 19);
  for (const rel of files) {
    await checkSafetensors(path.join(FIXTURES, rel), expected.project[rel] as { metadata: Record<string, string>; tensors: ExpectedTensor[] });
  }
});

test('readWeights on a sharded index loads all six shards, equal to the non-sharded file', async () => {
  const index = path.join(FIXTURES, 'safetensors/SafeTensors.jl/sharded/model.safetensors.index.json');
  const sharded = await readWeightFile(index);
  assert.equal(sharded.format, 'safetensors-index');
  const indexJson = JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> };
  assert.deepEqual([...sharded.tensors.keys()], Object.keys(indexJson.weight_map));
  const single = await readWeights(path.join(FIXTURES, 'safetensors/SafeTensors.jl/non_sharded/model.safetensors'));
  for (const [name, tensor] of sharded.tensors) {
    assert.ok(single.has(name), name);
    assert.equal(sha256(tensor), sha256(single.get(name)!), name);
    assert.deepEqual(tensor.shape, single.get(name)!.shape, name);
  }
  assert.equal(sharded.tensors.size, 36);
  assert.deepEqual([...sharded.tensors.keys()].sort(), [...single.keys()].sort());
});

test('the ONNX light_resnet50 model and its output TensorProto read with the values Python finds', async () => {
  const model = 'onnx/onnx__light_resnet50.onnx';
  await checkOnnx(path.join(FIXTURES, model), expected.project[model] as ExpectedOnnx);
  const pb = 'onnx/onnx__light_resnet50_output_0.pb';
  const tensor = parseOnnxTensor(readFileSync(path.join(FIXTURES, pb)));
  checkTensor(pb, tensor, expected.project[pb] as ExpectedTensor, 'float32');
  const viaReadWeights = await readWeightFile(path.join(FIXTURES, pb));
  assert.equal(viaReadWeights.format, 'onnx-tensor');
});

const sharedFiles = Object.keys(expected.shared);
for (const rel of sharedFiles) {
  const file = path.join(SHARED, rel);
  const present = existsSync(file);
  test(`unlicensed shared fixture ${rel} reads correctly`, { skip: present ? false : `${file} is not present (unlicensed, so not copied into the project)` }, async () => {
    const want = expected.shared[rel]!;
    if (rel.endsWith('.ckpt')) await checkCheckpoint(file, want as ExpectedTensor[]);
    else if (rel.endsWith('.safetensors')) await checkSafetensors(file, want as { metadata: Record<string, string>; tensors: ExpectedTensor[] });
    else await checkOnnx(file, want as ExpectedOnnx);
  });
}
