import { promises as fs } from 'node:fs';
import { numel, type DType, type HostTensor } from '../tensor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DTYPE_BYTES, checkHostTensor, tensorBytes, typedFromBytes } from './dtype.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** NumPy pads headers so data starts on a 64-byte boundary. */
const HEADER_ALIGNMENT = 64;

/** numpy kind+size (without byte-order character) → dtype. */
const NUMPY_TO_DTYPE: Readonly<Record<string, DType>> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  b1: 'bool',
};

const DTYPE_TO_NUMPY: Partial<Record<DType, string>> = {
  float16: '<f2', float32: '<f4', float64: '<f8',
  int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8',
  bool: '|b1',
};

interface NpyHeader {
  dtype: DType;
  bigEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeaderDict(text: string, source: string): NpyHeader {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) throw new Error(`${source}: .npy header is not a dictionary`);
  const descrMatch = /'descr'\s*:\s*'([^']*)'/.exec(trimmed);
  if (!descrMatch) {
    throw new Error(`${source}: .npy header has no simple 'descr' (structured dtypes are not supported)`);
  }
  const descr = descrMatch[1]!;
  const order = descr[0] ?? '';
  const kind = descr.slice(1);
  if (!'<>|='.includes(order) || order === '') throw new Error(`${source}: .npy dtype '${descr}' has no byte-order character`);
  if (kind.startsWith('O')) throw new Error(`${source}: .npy holds Python objects (dtype '${descr}'); only numeric arrays can be read (and objects are never unpickled)`);
  const dtype = NUMPY_TO_DTYPE[kind];
  if (!dtype) throw new Error(`${source}: unsupported .npy dtype '${descr}' (numeric and bool only)`);

  const fortranMatch = /'fortran_order'\s*:\s*(True|False)/.exec(trimmed);
  if (!fortranMatch) throw new Error(`${source}: .npy header has no 'fortran_order'`);
  const fortranOrder = fortranMatch[1] === 'True';

  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(trimmed);
  if (!shapeMatch) throw new Error(`${source}: .npy header has no 'shape' tuple`);
  const shape = shapeMatch[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+L?$/.test(s)) throw new Error(`${source}: .npy shape has a bad dimension '${s}'`);
    const d = Number.parseInt(s, 10);
    if (!Number.isSafeInteger(d)) throw new Error(`${source}: .npy dimension ${s} is too large`);
    return d;
  });
  return { dtype, bigEndian: order === '>', fortranOrder, shape };
}

function byteSwapped(bytes: Uint8Array, elementBytes: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += elementBytes) {
    for (let j = 0; j < elementBytes; j++) out[i + j] = bytes[i + elementBytes - 1 - j]!;
  }
  return out;
}

export function parseNpy(bytes: Uint8Array, source = 'npy'): HostTensor {
  if (bytes.length < 10 || !MAGIC.equals(Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length))) {
    throw new Error(`${source}: not a .npy file (missing \\x93NUMPY magic)`);
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${source}: truncated .npy header`);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`${source}: unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    throw new Error(`${source}: .npy header claims ${headerLength} bytes but the file has ${bytes.length - headerStart}`);
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const header = parseHeaderDict(text, source);
  if (header.fortranOrder && header.shape.filter((d) => d > 1).length > 1) {
    throw new Error(`${source}: .npy array is in Fortran (column-major) order; save it with np.ascontiguousarray(a) first`);
  }
  const elementBytes = DTYPE_BYTES[header.dtype];
  const expectedBytes = numel(header.shape) * elementBytes;
  const actualBytes = bytes.length - dataStart;
  if (expectedBytes !== actualBytes) {
    throw new Error(`${source}: .npy shape (${header.shape.join(', ')}) of ${header.dtype} needs ${expectedBytes} data bytes, the file has ${actualBytes}`);
  }
  let data = bytes.subarray(dataStart);
  if (header.bigEndian && elementBytes > 1) data = byteSwapped(data, elementBytes);
  return { dtype: header.dtype, shape: header.shape, data: typedFromBytes(header.dtype, data) };
}

export async function readNpy(file: string): Promise<HostTensor> {
  return parseNpy(await fs.readFile(file), file);
}

export function encodeNpy(tensor: HostTensor): Uint8Array[] {
  checkHostTensor('npy', tensor);
  const descr = DTYPE_TO_NUMPY[tensor.dtype];
  if (!descr) throw new Error(`.npy cannot hold ${tensor.dtype} (numpy has no such dtype)`);
  const shapeText = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let prefixBytes = MAGIC.length + 2 + 2;
  let major = 1;
  if (dict.length + 1 + prefixBytes > 0xffff) {
    major = 2;
    prefixBytes += 2;
  }
  const padded = dict.length + 1 + ((HEADER_ALIGNMENT - ((prefixBytes + dict.length + 1) % HEADER_ALIGNMENT)) % HEADER_ALIGNMENT);
  const header = Buffer.alloc(prefixBytes + padded, 0x20);
  MAGIC.copy(header, 0);
  header[6] = major;
  header[7] = 0;
  if (major === 1) header.writeUInt16LE(padded, 8);
  else header.writeUInt32LE(padded, 8);
  header.write(dict, prefixBytes, 'latin1');
  header[header.length - 1] = 0x0a;
  return [header, tensorBytes(tensor)];
}

export async function writeNpy(file: string, tensor: HostTensor): Promise<void> {
  await writeFileAtomic(file, encodeNpy(tensor));
}
