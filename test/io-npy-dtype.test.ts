import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { HostTensor } from '../src/tensor.js';
import {
  bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits,
  float8e4m3fnBitsToFloat32, float8e5m2BitsToFloat32, fromFloat32, toFloat32,
} from '../src/io/dtype.js';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/io/npy.js';

const PYTHON = '/usr/bin/python3';
const pythonHasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

// Recorded from numpy 1.24 (astype(float16)) and torch 1.13 (.to(bfloat16)) on these float32 inputs.
const INPUTS = [0.1, -2.5, 65504, 65520, 1e-8, 6e-8, 3e-5, 1 / 3, -0, Infinity, 1e5, 2 ** -24 * 1.5];
const NUMPY_FLOAT16_BITS = [11878, 49408, 31743, 31744, 0, 1, 503, 13653, 32768, 31744, 31744, 2];
const TORCH_BFLOAT16_BITS = [15821, 49184, 18304, 18304, 12844, 13185, 14332, 16043, 32768, 32640, 18371, 13248];

test('float32 → float16/bfloat16 rounding matches numpy and torch bit for bit', () => {
  assert.deepEqual(INPUTS.map(float32ToFloat16Bits), NUMPY_FLOAT16_BITS);
  assert.deepEqual(INPUTS.map(float32ToBfloat16Bits), TORCH_BFLOAT16_BITS);
});

test('half, bfloat16 and FP8 bits widen to the values numpy/torch print', () => {
  assert.deepEqual([0x3555, 0x0001, 0x7bff, 0xfc00, 0x8400].map(float16BitsToFloat32), [0.333251953125, 5.960464477539063e-8, 65504, -Infinity, -6.103515625e-5]);
  assert.deepEqual([0x3eab, 0x0001, 0x7f80, 0xc2f7].map(bfloat16BitsToFloat32), [0.333984375, 9.183549615799121e-41, Infinity, -123.5]);
  // OCP FP8: E4M3FN max 448 (0x7e), NaN only at 0x7f; E5M2 keeps infinities.
  assert.deepEqual([0x38, 0x7e, 0x01, 0xb8].map(float8e4m3fnBitsToFloat32), [1, 448, 2 ** -9, -1]);
  assert.ok(Number.isNaN(float8e4m3fnBitsToFloat32(0x7f)));
  assert.deepEqual([0x3c, 0x7b, 0x7c, 0x01].map(float8e5m2BitsToFloat32), [1, 57344, Infinity, 2 ** -16]);
});

test('toFloat32 widens every dtype for loading into a network', () => {
  const cases: [HostTensor, number[]][] = [
    [{ dtype: 'float64', shape: [2], data: new Float64Array([0.1, -3]) }, [Math.fround(0.1), -3]],
    [{ dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, [1, -2]],
    [{ dtype: 'bfloat16', shape: [1], data: new Uint16Array([0xc2f7]) }, [-123.5]],
    [{ dtype: 'int64', shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) }, [-5, 2 ** 40]],
    [{ dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) }, [0, 255]],
    [{ dtype: 'int8', shape: [1], data: new Int8Array([-128]) }, [-128]],
    [{ dtype: 'bool', shape: [3], data: new Uint8Array([0, 1, 7]) }, [0, 1, 1]],
    [{ dtype: 'uint32', shape: [1], data: new Uint32Array([4294967295]) }, [4294967296]],
  ];
  for (const [tensor, want] of cases) assert.deepEqual([...toFloat32(tensor)], want, tensor.dtype);
  assert.deepEqual(fromFloat32(Float32Array.from([1, -2]), [2], 'float16').data, new Uint16Array([0x3c00, 0xc000]));
});

test('.npy write → read round-trips, header is 64-byte aligned v1, 0-d and 1-d shapes', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tlkit-npy-'));
  const tensors: HostTensor[] = [
    { dtype: 'float32', shape: [1, 3, 2, 2], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) },
    { dtype: 'uint8', shape: [], data: new Uint8Array([200]) },
    { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
  ];
  for (const [i, tensor] of tensors.entries()) {
    const file = path.join(dir, `t${i}.npy`);
    await writeNpy(file, tensor);
    const bytes = readFileSync(file);
    assert.equal(bytes[6], 1);
    assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0);
    assert.deepEqual(await readNpy(file), tensor);
  }
  assert.throws(() => encodeNpy({ dtype: 'bfloat16', shape: [1], data: new Uint16Array(1) }), /\.npy cannot hold bfloat16/);
});

function npyWithHeader(dict: string, data: Uint8Array, version = 1): Buffer {
  const prefix = version === 1 ? 10 : 12;
  const text = dict + ' '.repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + '\n';
  const header = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(header);
  if (version === 1) header.writeUInt16LE(text.length, 8);
  else header.writeUInt32LE(text.length, 8);
  return Buffer.concat([header, Buffer.from(text, 'latin1'), data]);
}

test('.npy: Fortran order, object arrays, bad headers and short data are refused clearly', () => {
  const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const cases: [Buffer, RegExp][] = [
    [npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four), /Fortran \(column-major\) order.*np\.ascontiguousarray/],
    [npyWithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)), /holds Python objects.*never unpickled/],
    [npyWithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)), /unsupported \.npy dtype '<c8'/],
    [npyWithHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), /structured dtypes are not supported/],
    [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", four), /shape \(3, 2\) of float32 needs 24 data bytes, the file has 16/],
    [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", four), /bad dimension '-1'/],
    [Buffer.from('not numpy at all'), /not a \.npy file/],
    [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", four).subarray(0, 12), /header claims \d+ bytes but the file has/],
  ];
  for (const [bytes, pattern] of cases) assert.throws(() => parseNpy(bytes, 'x.npy'), (e: unknown) => e instanceof Error && /^x\.npy: /.test(e.message) && pattern.test(e.message));
  // Fortran order with a single non-unit axis has C layout too, so it is accepted; big-endian is swapped.
  assert.deepEqual(parseNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 4), }", four)).data, new Float32Array([1, 2, 3, 4]));
  const bigEndian = Buffer.from(four).swap32();
  assert.deepEqual(parseNpy(npyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", bigEndian, 2)).data, new Float32Array([1, 2, 3, 4]));
});

test('.npy files numpy writes (v1, v2, big-endian, many dtypes) read, and numpy reads what tlkit writes', { skip: pythonHasNumpy ? false : `${PYTHON} with numpy is not available` }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tlkit-npy-py-'));
  const script = `
import numpy as np, sys, os
d = sys.argv[1]
x = (np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5) / 7).astype(np.float32)
np.save(os.path.join(d, 'nchw.npy'), x)
np.save(os.path.join(d, 'i64.npy'), np.array([-1, 2**40, 7], dtype=np.int64))
np.save(os.path.join(d, 'u8.npy'), np.arange(6, dtype=np.uint8).reshape(2, 3))
np.save(os.path.join(d, 'f16.npy'), np.array([0.5, -1.25], dtype=np.float16))
np.save(os.path.join(d, 'b.npy'), np.array([True, False, True]))
np.save(os.path.join(d, 'be.npy'), np.array([1.5, -2.5], dtype='>f8'))
with open(os.path.join(d, 'v2.npy'), 'wb') as f:
    np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.int32), version=(2, 0))
np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
`;
  const made = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const nchw = await readNpy(path.join(dir, 'nchw.npy'));
  assert.deepEqual(nchw.shape, [2, 3, 4, 5]);
  assert.deepEqual(nchw.data, Float32Array.from({ length: 120 }, (_, i) => Math.fround(Math.fround(i) / 7)));
  assert.deepEqual((await readNpy(path.join(dir, 'i64.npy'))).data, new BigInt64Array([-1n, 2n ** 40n, 7n]));
  assert.deepEqual(await readNpy(path.join(dir, 'u8.npy')), { dtype: 'uint8', shape: [2, 3], data: new Uint8Array([0, 1, 2, 3, 4, 5]) });
  assert.deepEqual([...toFloat32(await readNpy(path.join(dir, 'f16.npy')))], [0.5, -1.25]);
  assert.deepEqual(await readNpy(path.join(dir, 'b.npy')), { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
  assert.deepEqual((await readNpy(path.join(dir, 'be.npy'))).data, new Float64Array([1.5, -2.5]));
  assert.deepEqual(await readNpy(path.join(dir, 'v2.npy')), { dtype: 'int32', shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) });
  await assert.rejects(readNpy(path.join(dir, 'fortran.npy')), /Fortran/);

  await writeNpy(path.join(dir, 'mine.npy'), { dtype: 'float32', shape: [1, 3, 2, 2], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) });
  await writeNpy(path.join(dir, 'mine64.npy'), { dtype: 'int64', shape: [2], data: new BigInt64Array([-3n, 2n ** 50n]) });
  writeFileSync(path.join(dir, 'check.py'), `
import numpy as np, sys, os
a = np.load(os.path.join(sys.argv[1], 'mine.npy')); b = np.load(os.path.join(sys.argv[1], 'mine64.npy'))
print(a.dtype, a.shape, a.flags['C_CONTIGUOUS'], float(a.sum()), a.ravel()[:3].tolist(), b.dtype, b.tolist())
`);
  const checked = spawnSync(PYTHON, [path.join(dir, 'check.py'), dir], { encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stderr);
  assert.equal(checked.stdout.trim(), `float32 (1, 3, 2, 2) True 0.0 [-5.5, -4.5, -3.5] int64 [-3, ${2 ** 50}]`);
});
