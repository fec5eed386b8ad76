import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { HostTensor } from '../src/tensor.js';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { readWeights } from '../src/io/weights.js';

const PYTHON = '/usr/bin/python3';
const pythonHasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
const HF_OVERALL = path.resolve('fixtures/real/safetensors/hf_safetensors__overall.safetensors');

function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'tlkit-st-'));
}

function fileWithHeader(header: string | object, data: Uint8Array, claimedLength?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(claimedLength ?? BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

const tensors = (): Map<string, HostTensor> => new Map<string, HostTensor>([
  ['conv1.weight', { dtype: 'float32', shape: [2, 1, 2, 2], data: Float32Array.from([1, -2, 3.5, 0.25, 1e-8, -7, 8, 9]) }],
  ['half', { dtype: 'float16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7bff]) }],
  ['brain', { dtype: 'bfloat16', shape: [2], data: new Uint16Array([0x3f80, 0xc0a0]) }],
  ['steps', { dtype: 'int64', shape: [], data: new BigInt64Array([123456789012n]) }],
  ['mask', { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) }],
  ['raw8', { dtype: 'float8_e4m3fn', shape: [2], data: new Uint8Array([0x38, 0xb8]) }],
  ['bytes', { dtype: 'uint8', shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) }],
]);

test('write → read round-trips bit-exactly; data starts 8-byte aligned; re-writing is byte-identical', async () => {
  const dir = scratch();
  const file = path.join(dir, 'w.safetensors');
  await writeSafetensors(file, tensors(), { format: 'pt', note: 'tlkit' });
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0);
  assert.match(bytes.subarray(8, 8 + headerLength).toString(), /^\{.*\} *$/);
  const read = await readSafetensors(file);
  assert.deepEqual(read.metadata, { format: 'pt', note: 'tlkit' });
  assert.deepEqual(read.tensors, tensors());
  await writeSafetensors(path.join(dir, 'again.safetensors'), read.tensors, read.metadata);
  assert.ok(readFileSync(path.join(dir, 'again.safetensors')).equals(bytes));
  assert.deepEqual(readdirSync(dir).sort(), ['again.safetensors', 'w.safetensors']);
});

test('a real Hugging Face sample survives read → write → read with identical tensors and data section', async () => {
  const original = await readSafetensors(HF_OVERALL);
  const rewritten = Buffer.concat(encodeSafetensors(original.tensors, original.metadata));
  const again = parseSafetensors(rewritten);
  assert.deepEqual(again, original);
  const originalBytes = readFileSync(HF_OVERALL);
  const originalData = originalBytes.subarray(8 + Number(originalBytes.readBigUInt64LE(0)));
  const rewrittenData = rewritten.subarray(8 + Number(rewritten.readBigUInt64LE(0)));
  assert.ok(rewrittenData.equals(originalData));
});

test('headers padded with spaces are accepted', () => {
  const data = new Uint8Array(new Float32Array([1, 2]).buffer);
  const padded = fileWithHeader(`${JSON.stringify({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } })}       `, data);
  assert.deepEqual(parseSafetensors(padded).tensors.get('x')!.data, new Float32Array([1, 2]));
});

test('bad files get clear errors before any large allocation', () => {
  const data = new Uint8Array(8);
  const good = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Buffer, RegExp][] = [
    ['too short', Buffer.alloc(5), /too short for a safetensors file/],
    ['huge header', fileWithHeader(good, data, 2n ** 62n), /header claims \d+ bytes, over the 100 MB limit/],
    ['lying header length', fileWithHeader(good, data, 5000n), /header claims 5000 bytes but the file has only/],
    ['not json', fileWithHeader('{"x": nope}', data), /header is not valid JSON/],
    ['not an object', fileWithHeader('[1,2]', data), /does not start with '\{'/],
    ['unknown dtype', fileWithHeader({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, data), /tensor 'x' has unsupported dtype "C64"/],
    ['wrong size', fileWithHeader({ x: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, data), /tensor 'x' \(F64 \[2\]\) needs 16 bytes but data_offsets \[0, 8\] span 8/],
    ['overlap', fileWithHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data), /tensor 'b' at data_offsets \[4, 8\] overlaps the previous tensor/],
    ['gap', fileWithHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data), /leaves a gap after byte 0/],
    ['truncated data', fileWithHeader(good, data.subarray(0, 6)), /tensors cover 8 data bytes but the file holds 6/],
    ['negative shape', fileWithHeader({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), /invalid shape \[-2\]/],
    ['huge shape', fileWithHeader({ x: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, data), /needs \d.* bytes but data_offsets \[0, 8\] span 8/],
    ['bad metadata', fileWithHeader({ __metadata__: { n: 1 }, ...good }, data), /__metadata__\.n must be a string/],
  ];
  for (const [label, bytes, pattern] of cases) {
    assert.throws(() => parseSafetensors(bytes, `case-${label}.safetensors`), (error: unknown) => {
      assert.ok(error instanceof Error, label);
      assert.match(error.message, new RegExp(`^case-${label}\\.safetensors: `), label);
      assert.match(error.message, pattern, label);
      return true;
    });
  }
});

test('a sharded index with a missing shard or a shard path outside its folder is refused', async () => {
  const dir = scratch();
  await writeSafetensors(path.join(dir, 'a.safetensors'), new Map([['x', tensors().get('bytes')!]]));
  writeFileSync(path.join(dir, 'ok.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors' } }));
  assert.deepEqual([...(await readWeights(path.join(dir, 'ok.index.json'))).keys()], ['x']);
  writeFileSync(path.join(dir, 'missing.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }));
  await assert.rejects(readWeights(path.join(dir, 'missing.index.json')), /listed in the index but absent from their shards: y/);
  writeFileSync(path.join(dir, 'escape.index.json'), JSON.stringify({ weight_map: { x: '../etc/passwd' } }));
  await assert.rejects(readWeights(path.join(dir, 'escape.index.json')), /names an invalid shard "\.\.\/etc\/passwd"/);
});

test('a safetensors file written by tlkit reads in Python (json + numpy, bfloat16 widened by bit shift)', { skip: pythonHasNumpy ? false : `${PYTHON} lacks numpy` }, async () => {
  const dir = scratch();
  const file = path.join(dir, 'py.safetensors');
  await writeSafetensors(file, tensors(), { format: 'pt' });
  const script = `
import json, struct, sys, numpy as np
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n]); body = data[8 + n:]
out = {'aligned': (8 + n) % 8 == 0, 'metadata': header.pop('__metadata__')}
np_types = {'F32': np.float32, 'F16': np.float16, 'I64': np.int64, 'BOOL': np.bool_, 'U8': np.uint8}
for name, info in header.items():
    b, e = info['data_offsets']
    raw = body[b:e]
    if info['dtype'] == 'BF16':
        values = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view('<f4').astype(np.float64).tolist()
    elif info['dtype'] in np_types:
        values = np.frombuffer(raw, np_types[info['dtype']]).reshape(info['shape']).astype(np.float64).ravel().tolist()
    else:
        values = list(raw)
    out[name] = {'shape': info['shape'], 'values': values}
print(json.dumps(out))
`;
  const result = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const py = JSON.parse(result.stdout) as Record<string, { shape: number[]; values: number[] }> & { aligned: boolean; metadata: object };
  assert.equal(py.aligned, true);
  assert.deepEqual(py.metadata, { format: 'pt' });
  assert.deepEqual(py['conv1.weight']!.values, [1, -2, 3.5, 0.25, Math.fround(1e-8), -7, 8, 9]);
  assert.deepEqual(py['conv1.weight']!.shape, [2, 1, 2, 2]);
  assert.deepEqual(py.half!.values, [1, -2, 65504]);
  assert.deepEqual(py.brain!.values, [1, -5]);
  assert.deepEqual(py.steps!, { shape: [], values: [123456789012] });
  assert.deepEqual(py.mask!.values, [1, 0, 0, 1]);
  assert.deepEqual(py.raw8!.values, [0x38, 0xb8]);
});
