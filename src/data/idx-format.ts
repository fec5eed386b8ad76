/** IDX (the MNIST file format) in memory: parse and encode, no file system (the browser build uses this). */
// Node's zlib without an import (the browser bundle has none to drop); a page decompresses with DecompressionStream.
const nodeZlib = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule?.('node:zlib') as
  | { gunzipSync(data: Uint8Array): Uint8Array }
  | undefined;

/** Element types of the IDX format (the MNIST file format), keyed by the type byte of the magic. */
const IDX_TYPES = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
} as const;

export type IdxDType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['dtype'];

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

/**
 * Parses an IDX file already in memory (gzip-compressed or raw). `source` names the file in errors.
 * Layout: two zero bytes, a type byte, a dimension count, then big-endian uint32 dimensions and data.
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX buffer'): IdxArray {
  const raw = isGzip(bytes) ? gunzipNamed(bytes, source) : bytes;
  if (raw.length < 4) throw new Error(`${source}: not an IDX file (only ${raw.length} bytes)`);
  const typeCode = raw[2]!;
  const type = IDX_TYPES[typeCode as keyof typeof IDX_TYPES];
  if (raw[0] !== 0 || raw[1] !== 0 || type === undefined) {
    const magic = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${source}: bad IDX magic ${magic} (expected 00 00 <type 08/09/0b/0c/0d/0e> <ndims>)`);
  }
  const rank = raw[3]!;
  if (rank === 0) throw new Error(`${source}: IDX header declares zero dimensions`);
  const headerLength = 4 + 4 * rank;
  if (raw.length < headerLength) {
    throw new Error(`${source}: truncated IDX header (${raw.length} bytes, header needs ${headerLength})`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerLength + count * type.bytes;
  if (raw.length < expected) {
    throw new Error(
      `${source}: truncated IDX data: shape [${shape.join(', ')}] of ${type.dtype} needs ${expected} bytes, file has ${raw.length}`,
    );
  }
  if (raw.length > expected) {
    throw new Error(`${source}: ${raw.length - expected} unexpected bytes after the IDX data of shape [${shape.join(', ')}]`);
  }
  return { dtype: type.dtype, shape, data: decodeElements(view, headerLength, count, type.dtype) };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzipNamed(bytes: Uint8Array, source: string): Uint8Array {
  try {
    if (!nodeZlib) throw new Error('no zlib here: decompress the file first (DecompressionStream(\'gzip\') in a browser)');
    return nodeZlib.gunzipSync(bytes);
  } catch (error) {
    throw new Error(`${source}: corrupt or truncated gzip data (${(error as Error).message})`);
  }
}

function decodeElements(view: DataView, offset: number, count: number, dtype: IdxDType): IdxData {
  // Copies, so the result does not pin the (possibly much larger) decompressed buffer's alignment.
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Serializes an array as raw (uncompressed) IDX; used to write fixtures and test files. */
export function encodeIdx(array: IdxArray): Uint8Array {
  const entry = Object.entries(IDX_TYPES).find(([, t]) => t.dtype === array.dtype)!;
  const typeCode = Number(entry[0]);
  const bytesPer = entry[1].bytes;
  const header = 4 + 4 * array.shape.length;
  const out = new Uint8Array(header + array.data.length * bytesPer);
  const view = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = array.shape.length;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < array.data.length; i++) {
    const value = Number(array.data[i]);
    const at = header + i * bytesPer;
    switch (array.dtype) {
      case 'uint8': view.setUint8(at, value); break;
      case 'int8': view.setInt8(at, value); break;
      case 'int16': view.setInt16(at, value, false); break;
      case 'int32': view.setInt32(at, value, false); break;
      case 'float32': view.setFloat32(at, value, false); break;
      case 'float64': view.setFloat64(at, value, false); break;
    }
  }
  return out;
}
