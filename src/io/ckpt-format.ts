/** MindSpore .ckpt files as bytes: parsing and encoding, no file system (the browser build uses this). */
import { numel, type DType, type HostTensor } from '../tensor.js';
import { crc32 } from '../util/crc32.js';
import {
  decodeCheckpointMessage, encodeCheckpointValue, int64ToNumber,
  type CheckpointValueData, type TensorProtoData,
} from './ckpt-proto.js';
import { DTYPE_BYTES, checkHostTensor, concatBytes, tensorBytes, typedFromBytes } from './dtype.js';

const LATIN1 = new TextDecoder('latin1');

/** MindSpore's `str(dtype)` names, as written into `tensor_type`. */
const MINDSPORE_TO_DTYPE: Readonly<Record<string, DType>> = {
  Float16: 'float16', Float32: 'float32', Float64: 'float64', BFloat16: 'bfloat16',
  Int8: 'int8', Int16: 'int16', Int32: 'int32', Int64: 'int64',
  UInt8: 'uint8', UInt16: 'uint16', UInt32: 'uint32', UInt64: 'uint64',
  Bool: 'bool',
};

const DTYPE_TO_MINDSPORE: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(MINDSPORE_TO_DTYPE).map(([name, dtype]) => [dtype, name]),
);

/** MindSpore's encrypted files start each block with one of these little-endian magic numbers (utils/crypto.h). */
const ENCRYPTION_MAGIC = new Set([0x7f3a5ed8, 0x7f3a5ed9, 0x7f3a5eda]);

const CRC_MARKER = 'crc_num';
/** 'crc_num' followed by the CRC32 as a 10-byte big-endian integer. */
const CRC_TRAILER_BYTES = CRC_MARKER.length + 10;

/** Same default as MindSpore's SLICE_SIZE (512 MiB): larger tensors are split over consecutive entries. */
const DEFAULT_SLICE_BYTES = 512 * 1024 * 1024;

export interface CheckpointContents {
  /** Tensors in file order. Scalars stored with dims [0] come back with shape []. */
  tensors: Map<string, HostTensor>;
  /** 'str' entries (MindSpore's append_dict strings). */
  strings: Map<string, string>;
  /** Entries that carry no dense tensor tlkit can use (map tensors, random-op state). */
  skipped: { name: string; reason: string }[];
  /** Whether the file had a `crc_num` trailer (it was verified if so). */
  crc: 'absent' | 'verified';
}

export type CheckpointEntry = HostTensor | string;

export interface WriteCheckpointOptions {
  /** Append MindSpore's `crc_num` trailer (what `save_checkpoint(..., crc_check=True)` writes). */
  crc?: boolean;
  /** Tensors larger than this are split along axis 0 like MindSpore does; default 512 MiB. */
  sliceBytes?: number;
}

/** True when the bytes start like a block MindSpore encrypted (save_checkpoint with enc_key). */
export function looksEncryptedCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ENCRYPTION_MAGIC.has(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true));
}

function notACheckpoint(source: string, detail: string): Error {
  return new Error(
    `${source}: not a readable MindSpore checkpoint (${detail}). ` +
    'If it was saved with enc_key it is encrypted: decrypt it with MindSpore (load_checkpoint(..., dec_key=...) then save_checkpoint) first.',
  );
}

function readCrcTrailer(bytes: Uint8Array, source: string): { body: Uint8Array; crc: 'absent' | 'verified' } {
  if (bytes.length < CRC_TRAILER_BYTES) return { body: bytes, crc: 'absent' };
  const markerStart = bytes.length - CRC_TRAILER_BYTES;
  const marker = LATIN1.decode(bytes.subarray(markerStart, markerStart + CRC_MARKER.length));
  if (marker !== CRC_MARKER) return { body: bytes, crc: 'absent' };
  let stored = 0;
  for (let i = bytes.length - 10; i < bytes.length; i++) stored = stored * 256 + bytes[i]!;
  const body = bytes.subarray(0, markerStart);
  const computed = crc32(body);
  if (stored !== computed) {
    throw new Error(`${source}: CRC32 check failed (file says ${stored}, contents give ${computed}); the checkpoint is damaged`);
  }
  return { body, crc: 'verified' };
}

function decodeUtf32le(bytes: Uint8Array): string {
  let text = '';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    const codePoint = view.getUint32(i, true);
    if (codePoint === 0) break; // numpy pads fixed-width unicode with NULs
    if (codePoint > 0x10ffff) throw new Error(`invalid code point ${codePoint}`);
    text += String.fromCodePoint(codePoint);
  }
  return text;
}

function encodeUtf32le(text: string): Uint8Array {
  const codePoints = Array.from(text, (ch) => ch.codePointAt(0)!);
  const out = new Uint8Array(codePoints.length * 4);
  const view = new DataView(out.buffer);
  codePoints.forEach((cp, i) => view.setUint32(i * 4, cp, true));
  return out;
}

function dimsOf(tensor: TensorProtoData, tag: string): number[] {
  return tensor.dims.map((d) => {
    const n = int64ToNumber(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`tensor '${tag}': invalid dimension ${String(d)}`);
    return n;
  });
}

/** Joins the slices of one tensor, checking sizes against the dims before allocating anything. */
function assembleTensor(tag: string, parts: TensorProtoData[]): HostTensor {
  const first = parts[0]!;
  const dtype = MINDSPORE_TO_DTYPE[first.tensor_type];
  if (!dtype) throw new Error(`tensor '${tag}': unsupported tensor_type '${first.tensor_type}'`);
  const dims = dimsOf(first, tag);
  let totalBytes = 0;
  for (const part of parts) {
    if (part.tensor_type !== first.tensor_type) {
      throw new Error(`tensor '${tag}': slices disagree on dtype (${first.tensor_type} vs ${part.tensor_type})`);
    }
    const partDims = dimsOf(part, tag);
    if (partDims.join(',') !== dims.join(',')) {
      throw new Error(`tensor '${tag}': slices disagree on dims ([${dims.join(', ')}] vs [${partDims.join(', ')}])`);
    }
    totalBytes += part.tensor_content.length;
  }
  const elementBytes = DTYPE_BYTES[dtype];
  // MindSpore writes scalars as dims [0] with one element; load_checkpoint turns them into shape ().
  const isScalar = dims.length === 1 && dims[0] === 0 && totalBytes === elementBytes;
  const shape = isScalar ? [] : dims;
  const expectedBytes = numel(shape) * elementBytes;
  if (expectedBytes !== totalBytes) {
    throw new Error(
      `tensor '${tag}': dims [${dims.join(', ')}] of ${first.tensor_type} need ${expectedBytes} bytes but the file holds ${totalBytes}`,
    );
  }
  const joined = parts.length === 1 ? first.tensor_content : concatBytes(parts.map((p) => p.tensor_content), totalBytes);
  return { dtype, shape, data: typedFromBytes(dtype, joined) };
}

/** Parses checkpoint bytes; `source` names the file in error messages. */
export function parseCheckpoint(bytes: Uint8Array, source = 'checkpoint'): CheckpointContents {
  if (bytes.length === 0) throw new Error(`${source}: empty file, not a MindSpore checkpoint`);
  if (looksEncryptedCheckpoint(bytes)) {
    const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    throw new Error(
      `${source}: this MindSpore checkpoint is encrypted (AES/SM4 block magic 0x${magic.toString(16)}); ` +
      'decrypt it with MindSpore (load_checkpoint(..., dec_key=..., dec_mode=...) then save_checkpoint) first',
    );
  }
  const { body, crc } = readCrcTrailer(bytes, source);
  let values: CheckpointValueData[];
  try {
    values = decodeCheckpointMessage(body).value ?? [];
  } catch (error) {
    throw notACheckpoint(source, `protobuf decoding failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (values.length === 0) throw notACheckpoint(source, 'no entries found');

  const contents: CheckpointContents = { tensors: new Map(), strings: new Map(), skipped: [], crc };
  const seen = new Set<string>();
  try {
    for (let start = 0; start < values.length;) {
      const tag = values[start]!.tag;
      let end = start + 1;
      // A tensor larger than MindSpore's slice size is written as consecutive entries with the same tag.
      while (end < values.length && values[end]!.tag === tag) end++;
      const group = values.slice(start, end);
      start = end;
      if (seen.has(tag)) throw new Error(`entry '${tag}' appears twice, separated by other entries`);
      seen.add(tag);
      const tensors = group.map((v) => v.tensor).filter((t): t is TensorProtoData => t != null);
      if (tensors.length !== group.length) {
        const isMap = group.some((v) => v.maptensor != null);
        contents.skipped.push({ name: tag, reason: isMap ? 'MindSpore map tensor (embedding hash table)' : 'entry without a tensor' });
        continue;
      }
      const tensorType = tensors[0]!.tensor_type;
      if (tag === 'random_op' || tensorType === 'random_op') {
        contents.skipped.push({ name: tag, reason: 'random operator state' });
      } else if (tensorType === 'str') {
        contents.strings.set(tag, decodeUtf32le(concatBytes(tensors.map((t) => t.tensor_content))));
      } else {
        contents.tensors.set(tag, assembleTensor(tag, tensors));
      }
    }
  } catch (error) {
    throw new Error(`${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return contents;
}


function splitRows(rows: number, parts: number): number[] {
  // np.array_split: the first rows % parts pieces get one extra row.
  const base = Math.floor(rows / parts);
  const extra = rows % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

function encodeTensor(name: string, tensor: HostTensor, sliceBytes: number): Uint8Array[] {
  checkHostTensor(name, tensor);
  const tensorType = DTYPE_TO_MINDSPORE[tensor.dtype];
  if (!tensorType) throw new Error(`tensor '${name}': MindSpore checkpoints cannot hold ${tensor.dtype}`);
  const dims = tensor.shape.length === 0 ? [0] : tensor.shape;
  const bytes = tensorBytes(tensor);
  if (bytes.length <= sliceBytes || tensor.shape.length === 0) {
    return [encodeCheckpointValue(name, dims, tensorType, bytes)];
  }
  const rows = tensor.shape[0]!;
  const rowBytes = rows === 0 ? 0 : bytes.length / rows;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const count of splitRows(rows, Math.ceil(bytes.length / sliceBytes))) {
    chunks.push(encodeCheckpointValue(name, dims, tensorType, bytes.subarray(offset, offset + count * rowBytes)));
    offset += count * rowBytes;
  }
  return chunks;
}

function entriesOf(entries: Map<string, CheckpointEntry> | Iterable<[string, CheckpointEntry]>): [string, CheckpointEntry][] {
  return Array.from(entries instanceof Map ? entries.entries() : entries);
}

/** Serializes entries exactly as MindSpore's save_checkpoint lays them out (one message per slice). */
export function encodeCheckpoint(
  entries: Map<string, CheckpointEntry> | Iterable<[string, CheckpointEntry]>,
  options: WriteCheckpointOptions = {},
): Uint8Array[] {
  const sliceBytes = options.sliceBytes ?? DEFAULT_SLICE_BYTES;
  if (!(sliceBytes > 0)) throw new Error(`sliceBytes must be positive, got ${sliceBytes}`);
  const chunks: Uint8Array[] = [];
  const names = new Set<string>();
  for (const [name, entry] of entriesOf(entries)) {
    if (names.has(name)) throw new Error(`checkpoint entry '${name}' given twice`);
    names.add(name);
    if (typeof entry === 'string') chunks.push(encodeCheckpointValue(name, [0], 'str', encodeUtf32le(entry)));
    else chunks.push(...encodeTensor(name, entry, sliceBytes));
  }
  if (options.crc) {
    let crc = 0;
    for (const chunk of chunks) crc = crc32(chunk, crc);
    const trailer = new Uint8Array(CRC_TRAILER_BYTES);
    trailer.set(Uint8Array.from(CRC_MARKER, (ch) => ch.charCodeAt(0)));
    new DataView(trailer.buffer).setUint32(CRC_TRAILER_BYTES - 4, crc, false);
    chunks.push(trailer);
  }
  return chunks;
}
