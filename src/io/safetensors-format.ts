/** safetensors as bytes: parsing and encoding, no file system (the browser build uses this). */
import { numel, type DType, type HostTensor } from '../tensor.js';
import { DTYPE_BYTES, checkHostTensor, tensorBytes, typedFromBytes } from './dtype.js';

const SAFETENSORS_TO_DTYPE: Readonly<Record<string, DType>> = {
  BOOL: 'bool', U8: 'uint8', I8: 'int8', U16: 'uint16', I16: 'int16', F16: 'float16', BF16: 'bfloat16',
  U32: 'uint32', I32: 'int32', F32: 'float32', U64: 'uint64', I64: 'int64', F64: 'float64',
  F8_E4M3: 'float8_e4m3fn', F8_E5M2: 'float8_e5m2',
};

const DTYPE_TO_SAFETENSORS: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(SAFETENSORS_TO_DTYPE).map(([name, dtype]) => [dtype, name]),
) as Record<DType, string>;

/** The reference implementation refuses headers over 100 MB; so do we, before reading them. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsContents {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsHeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseHeaderJson(bytes: Uint8Array, source: string): { entries: SafetensorsHeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) throw new Error(`${source}: too short for a safetensors file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${source}: safetensors header claims ${headerLength} bytes, over the 100 MB limit`);
  }
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.length) {
    throw new Error(`${source}: safetensors header claims ${headerLength} bytes but the file has only ${bytes.length - 8} after the length`);
  }
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + Number(headerLength)));
  if (!headerText.startsWith('{')) throw new Error(`${source}: safetensors header does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    throw new Error(`${source}: safetensors header is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(header)) throw new Error(`${source}: safetensors header is not a JSON object`);

  const metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(raw)) throw new Error(`${source}: __metadata__ must be an object of strings`);
      for (const [key, value] of Object.entries(raw)) {
        if (typeof value !== 'string') throw new Error(`${source}: __metadata__.${key} must be a string`);
        metadata[key] = value;
      }
      continue;
    }
    if (!isRecord(raw)) throw new Error(`${source}: tensor '${name}' has no dtype/shape/data_offsets object`);
    const dtype = typeof raw.dtype === 'string' ? SAFETENSORS_TO_DTYPE[raw.dtype] : undefined;
    if (!dtype) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${JSON.stringify(raw.dtype)}`);
    const shape = raw.shape;
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${source}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = raw.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o): o is number => Number.isSafeInteger(o) && o >= 0)) {
      throw new Error(`${source}: tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = numel(shape) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expectedBytes) {
      throw new Error(`${source}: tensor '${name}' (${raw.dtype} [${shape.join(', ')}]) needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // Like the reference reader: tensors must tile the data section exactly, no gaps, no overlaps.
  const dataLength = bytes.length - dataStart;
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const entry of byOffset) {
    if (entry.begin !== expectedBegin) {
      const problem = entry.begin < expectedBegin ? 'overlaps the previous tensor' : `leaves a gap after byte ${expectedBegin}`;
      throw new Error(`${source}: tensor '${entry.name}' at data_offsets [${entry.begin}, ${entry.end}] ${problem}`);
    }
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) {
    throw new Error(`${source}: tensors cover ${expectedBegin} data bytes but the file holds ${dataLength} after the header (truncated or padded)`);
  }
  return { entries, metadata, dataStart };
}

/** Names, dtypes, shapes and offsets without copying tensor data (for `tlkit inspect`). */
export function parseSafetensorsHeader(bytes: Uint8Array, source = 'safetensors'): { entries: SafetensorsHeaderEntry[]; metadata: Record<string, string> } {
  const { entries, metadata } = parseHeaderJson(bytes, source);
  return { entries, metadata };
}

export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  const { entries, metadata, dataStart } = parseHeaderJson(bytes, source);
  const tensors = new Map<string, HostTensor>();
  for (const entry of entries) {
    const slice = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data: typedFromBytes(entry.dtype, slice) });
  }
  return { tensors, metadata };
}

export interface ShardIndex {
  metadata: Record<string, unknown>;
  /** tensor name -> shard file name, relative to the index file. */
  weightMap: Map<string, string>;
}

export function parseShardIndex(text: string, source: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json) || !isRecord(json.weight_map)) throw new Error(`${source}: not a safetensors index (no "weight_map" object)`);
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard === '..' || shard === '.') {
      // Shards must sit beside the index; a path could point anywhere on disk.
      throw new Error(`${source}: weight_map entry '${name}' names an invalid shard ${JSON.stringify(shard)}`);
    }
    weightMap.set(name, shard);
  }
  return { metadata: isRecord(json.metadata) ? json.metadata : {}, weightMap };
}

/** Header + data chunks of a safetensors file; the header is space-padded so data starts 8-byte aligned. */
export function encodeSafetensors(
  tensors: Map<string, HostTensor> | Iterable<[string, HostTensor]>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  // No prototype, so tensors named 'constructor' or '__proto__' are ordinary keys.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const names = new Set<string>();
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`safetensors metadata '${key}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors instanceof Map ? tensors.entries() : tensors) {
    if (name === '__metadata__') throw new Error(`a tensor cannot be named __metadata__`);
    if (names.has(name)) throw new Error(`tensor '${name}' given twice`);
    names.add(name);
    checkHostTensor(name, tensor);
    const bytes = tensorBytes(tensor);
    header[name] = { dtype: DTYPE_TO_SAFETENSORS[tensor.dtype], shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (json.length % 8)) % 8;
  const headerBytes = new Uint8Array(8 + json.length + padding).fill(0x20);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(json.length + padding), true);
  headerBytes.set(json, 8);
  return [headerBytes, ...chunks];
}
