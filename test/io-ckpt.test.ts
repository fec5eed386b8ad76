import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { HostTensor } from '../src/tensor.js';
import { encodeCheckpoint, parseCheckpoint, readCheckpoint, saveCheckpoint, writeCheckpoint, type CheckpointEntry } from '../src/io/ckpt.js';
import { CheckpointMessage, decodeCheckpointMessage, encodeCheckpointValue } from '../src/io/ckpt-proto.js';
import { tensorBytes } from '../src/io/dtype.js';
import { readWeights } from '../src/io/weights.js';

const REAL = path.resolve('fixtures/real/mindspore-ckpt/mindarmour__checkpoint_lenet-10_1875.ckpt');
const PYTHON = '/usr/bin/python3';
const pythonHasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'tlkit-ckpt-'));
}

function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks);
}

/** One tensor of every dtype a MindSpore checkpoint can hold, plus the quirky shapes. */
function everyDtype(): Map<string, CheckpointEntry> {
  return new Map<string, CheckpointEntry>([
    ['f32', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1.5, -2, 3.25, 0, -0, 3.4e38]) }],
    ['f64', { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) }],
    ['f16', { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xfbff]) }],
    ['bf16', { dtype: 'bfloat16', shape: [2], data: new Uint16Array([0x3f80, 0x7f7f]) }],
    ['i8', { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) }],
    ['i16', { dtype: 'int16', shape: [2], data: new Int16Array([-32768, 32767]) }],
    ['i32', { dtype: 'int32', shape: [1], data: new Int32Array([-2147483648]) }],
    ['i64', { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 7n]) }],
    ['u8', { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) }],
    ['u16', { dtype: 'uint16', shape: [1], data: new Uint16Array([65535]) }],
    ['u32', { dtype: 'uint32', shape: [1], data: new Uint32Array([4294967295]) }],
    ['u64', { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) }],
    ['flag', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['learning_rate', { dtype: 'float32', shape: [], data: new Float32Array([0.01]) }],
    ['empty', { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }],
    ['note', 'ResNet-50 狼/狗 🐺'],
  ]);
}

test('the real MindArmour checkpoint re-encodes byte for byte (same field order, unpacked dims, [0] scalars)', () => {
  const original = readFileSync(REAL);
  const contents = parseCheckpoint(original, REAL);
  const again = concat(encodeCheckpoint(contents.tensors));
  assert.equal(again.length, original.length);
  assert.ok(again.equals(original));
});

test('every dtype, scalars, empty tensors and strings round-trip bit-exactly, and re-writing is byte-identical', async () => {
  const dir = scratch();
  const file = path.join(dir, 'all.ckpt');
  const entries = everyDtype();
  await writeCheckpoint(file, entries);
  const read = await readCheckpoint(file);
  for (const [name, entry] of entries) {
    if (typeof entry === 'string') assert.equal(read.strings.get(name), entry);
    else assert.deepEqual(read.tensors.get(name), entry, name);
  }
  const rewritten = path.join(dir, 'again.ckpt');
  await saveCheckpoint(rewritten, [...read.tensors, ...read.strings].sort(
    (a, b) => [...entries.keys()].indexOf(a[0]) - [...entries.keys()].indexOf(b[0]),
  ));
  assert.ok(readFileSync(rewritten).equals(readFileSync(file)));
  assert.deepEqual(readdirSync(dir).sort(), ['again.ckpt', 'all.ckpt'], 'no temporary files left behind');
});

test('a tensor over the slice size is split into consecutive same-tag entries like np.array_split, and joined on read', () => {
  const data = Float32Array.from({ length: 70 }, (_, i) => i * 0.5 - 3);
  const tensor: HostTensor = { dtype: 'float32', shape: [10, 7], data };
  const bytes = concat(encodeCheckpoint([['big', tensor], ['after', { dtype: 'int32', shape: [1], data: new Int32Array([9]) }]], { sliceBytes: 100 }));
  const values = decodeCheckpointMessage(bytes).value;
  // 280 bytes / 100 → 3 slices of 4, 3, 3 rows; each slice carries the full dims, as MindSpore writes.
  assert.deepEqual(values.map((v) => [v.tag, v.tensor!.tensor_content.length]), [['big', 112], ['big', 84], ['big', 84], ['after', 4]]);
  assert.deepEqual(values.map((v) => v.tensor!.dims.map(Number)), [[10, 7], [10, 7], [10, 7], [1]]);
  const read = parseCheckpoint(bytes);
  assert.deepEqual(read.tensors.get('big'), tensor);
  assert.deepEqual([...read.tensors.keys()], ['big', 'after']);
});

test('crc_num trailer: written on request, verified on read, damage detected', () => {
  const entries = everyDtype();
  const plain = concat(encodeCheckpoint(entries));
  const withCrc = concat(encodeCheckpoint(entries, { crc: true }));
  assert.equal(withCrc.length, plain.length + 17);
  assert.equal(withCrc.subarray(plain.length, plain.length + 7).toString('latin1'), 'crc_num');
  assert.equal(parseCheckpoint(withCrc).crc, 'verified');
  assert.equal(parseCheckpoint(plain).crc, 'absent');
  const damaged = Buffer.from(withCrc);
  damaged[40] = damaged[40]! ^ 0x01;
  assert.throws(() => parseCheckpoint(damaged, 'damaged.ckpt'), /damaged\.ckpt: CRC32 check failed .*damaged/);
});

test('encrypted files, random bytes, truncation and lying dims give clear errors naming the file', async () => {
  const encrypted = Buffer.concat([Buffer.from([0xd8, 0x5e, 0x3a, 0x7f]), Buffer.alloc(64, 0x5a)]);
  assert.throws(() => parseCheckpoint(encrypted, 'enc.ckpt'), /enc\.ckpt: this MindSpore checkpoint is encrypted.*dec_key/);
  const dir = scratch();
  writeFileSync(path.join(dir, 'weights.bin'), encrypted);
  await assert.rejects(readWeights(path.join(dir, 'weights.bin')), /weights\.bin: this MindSpore checkpoint is encrypted/);
  const random = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 73 + 41) % 256));
  assert.throws(() => parseCheckpoint(random, 'random.ckpt'), /random\.ckpt: not a readable MindSpore checkpoint.*encrypted/);
  const real = readFileSync(REAL);
  assert.throws(() => parseCheckpoint(real.subarray(0, real.length - 1000), 'cut.ckpt'), /cut\.ckpt: not a readable MindSpore checkpoint \(protobuf decoding failed/);
  assert.throws(() => parseCheckpoint(Buffer.alloc(0), 'empty.ckpt'), /empty\.ckpt: empty file/);
  const lying = encodeCheckpointValue('w', [1000, 1000], 'Float32', new Uint8Array(8));
  assert.throws(() => parseCheckpoint(lying, 'lying.ckpt'), /lying\.ckpt: tensor 'w': dims \[1000, 1000\] of Float32 need 4000000 bytes but the file holds 8/);
  const oddType = encodeCheckpointValue('z', [1], 'Complex64', new Uint8Array(8));
  assert.throws(() => parseCheckpoint(oddType, 'odd.ckpt'), /odd\.ckpt: tensor 'z': unsupported tensor_type 'Complex64'/);
  assert.throws(() => encodeCheckpoint([['fp8', { dtype: 'float8_e5m2', shape: [1], data: new Uint8Array(1) }]]), /cannot hold float8_e5m2/);
  assert.throws(() => encodeCheckpoint([['bad', { dtype: 'float32', shape: [3], data: new Float32Array(2) }]]), /needs 3 elements, data has 2/);
});

test('map tensors (the maptensor branch of the schema) and random-op state are skipped and reported, not misread', () => {
  const mapEntry = CheckpointMessage.encode(CheckpointMessage.fromObject({
    value: [{ tag: 'embedding', maptensor: { tensor: [{ dims: [2], tensor_type: 'int32', tensor_content: new Uint8Array(8) }] } }],
  })).finish();
  const bytes = Buffer.concat([
    encodeCheckpointValue('w', [2], 'Float32', new Uint8Array(new Float32Array([1, 2]).buffer)),
    mapEntry,
    encodeCheckpointValue('random_op', [0], 'random_op', new Uint8Array([1, 2, 3])),
  ]);
  const contents = parseCheckpoint(bytes);
  assert.deepEqual([...contents.tensors.keys()], ['w']);
  assert.deepEqual(contents.skipped, [
    { name: 'embedding', reason: 'MindSpore map tensor (embedding hash table)' },
    { name: 'random_op', reason: 'random operator state' },
  ]);
});

test('optimizer entries of a real training checkpoint read like weights', async () => {
  const contents = await readCheckpoint(REAL);
  const names = [...contents.tensors.keys()];
  assert.ok(names.includes('moments.fc3.bias'));
  assert.deepEqual(contents.tensors.get('moments.fc1.weight')!.shape, [120, 400]);
});

test('a checkpoint written by tlkit reads in Python (independent protobuf wire decoder, numpy)', { skip: pythonHasNumpy ? false : `${PYTHON} with numpy is not available` }, async () => {
  const dir = scratch();
  const file = path.join(dir, 'py.ckpt');
  const entries = everyDtype();
  await writeCheckpoint(file, entries, { crc: true });
  const result = spawnSync(PYTHON, [path.resolve('tools/weights_reference.py'), 'ckpt', file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const fromPython = JSON.parse(result.stdout) as { name: string; dtype: string; dims?: number[]; sha256?: string; value?: string }[];
  assert.deepEqual(fromPython.map((e) => e.name), [...entries.keys()]);
  for (const entry of fromPython) {
    const mine = entries.get(entry.name)!;
    if (typeof mine === 'string') {
      assert.equal(entry.value, mine);
      continue;
    }
    assert.equal(entry.sha256, createHash('sha256').update(tensorBytes(mine)).digest('hex'), entry.name);
    assert.deepEqual(entry.dims, mine.shape.length === 0 ? [0] : mine.shape, entry.name);
  }
  const crcCheck = spawnSync(PYTHON, ['-c', "import binascii,sys; d=open(sys.argv[1],'rb').read(); print(binascii.crc32(d[:-17]) == int.from_bytes(d[-10:], 'big'), d[-17:-10])", file], { encoding: 'utf8' });
  assert.equal(crcCheck.stdout.trim(), "True b'crc_num'");
});
