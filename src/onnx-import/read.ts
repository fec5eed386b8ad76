/**
 * Reads an ONNX file with tlkit's protobuf code (onnx-proto): the model, its external-data files
 * (models over 2 GB keep weights beside the .onnx), and the checks a classifier file must pass.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { cloneModel as cloneModelProto } from '../graph/onnx.js';

const { onnx } = onnxProto;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

type LongLike = number | { toNumber(): number } | null | undefined;
export const toNumber = (value: LongLike): number => (value == null ? 0 : typeof value === 'number' ? value : value.toNumber());

/** First bytes a ModelProto can start with: the tags of its fields 1-8 and 14 (ir_version, producer, ..., graph, opset_import, metadata). */
const MODEL_FIRST_BYTES = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

/** Decodes ModelProto bytes, telling a truncated file from one that is not ONNX at all. */
export function decodeOnnxModel(bytes: Uint8Array, source: string): ModelProto {
  if (bytes.length === 0) throw new Error(`${source}: empty file, not an ONNX model`);
  if (!MODEL_FIRST_BYTES.has(bytes[0]!)) throw new Error(`${source}: not an ONNX model (a ModelProto cannot start with byte 0x${bytes[0]!.toString(16).padStart(2, '0')})`);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // protobufjs reports reading past the end as "index out of range: a + b > length".
    if (/index out of range/.test(message)) throw new Error(`${source}: truncated ONNX file (${bytes.length} bytes; protobuf decoding ran past the end: ${message})`);
    throw new Error(`${source}: not an ONNX model (protobuf decoding failed: ${message})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new Error(`${source}: not an ONNX model (no graph with nodes inside)`);
  if ((model.opsetImport ?? []).length === 0 && toNumber(model.irVersion) === 0) throw new Error(`${source}: not an ONNX model (no ir_version and no opset_import)`);
  return model;
}

function externalEntry(tensor: TensorProto, key: string): string | undefined {
  return (tensor.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/**
 * Loads every external tensor's bytes into raw_data (the ONNX external-data convention: keys
 * location, offset, length; location relative to the model's folder), so the rest of tlkit sees
 * a self-contained model.
 */
export async function loadExternalData(model: ModelProto, file: string): Promise<void> {
  const dir = path.dirname(file);
  const handles = new Map<string, Promise<fs.FileHandle>>();
  const tensors: TensorProto[] = [...(model.graph!.initializer ?? [])];
  for (const node of model.graph!.node ?? []) for (const a of node.attribute ?? []) if (a.t) tensors.push(a.t);
  try {
    for (const tensor of tensors) {
      if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const location = externalEntry(tensor, 'location');
      if (!location) throw new Error(`${file}: tensor '${tensor.name}' is marked external but names no location`);
      const target = path.resolve(dir, location);
      if (path.relative(dir, target).startsWith('..')) throw new Error(`${file}: tensor '${tensor.name}' points outside the model's folder (${location})`);
      let handle = handles.get(target);
      if (!handle) {
        handle = fs.open(target, 'r').catch((error: NodeJS.ErrnoException) => {
          throw new Error(`${file}: tensor '${tensor.name}' keeps its data in ${location}, which cannot be opened beside the model (${error.code ?? error.message})`);
        });
        handles.set(target, handle);
      }
      const fh = await handle;
      const offset = Number(externalEntry(tensor, 'offset') ?? 0);
      const size = (await fh.stat()).size;
      const length = externalEntry(tensor, 'length') !== undefined ? Number(externalEntry(tensor, 'length')) : size - offset;
      if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
        throw new Error(`${file}: tensor '${tensor.name}' needs bytes ${offset}..${offset + length} of ${location}, which has ${size}`);
      }
      const data = Buffer.alloc(length);
      await fh.read(data, 0, length, offset);
      tensor.rawData = data;
      tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
      tensor.externalData = [];
    }
  } finally {
    for (const handle of handles.values()) await handle.then((h) => h.close(), () => undefined);
  }
}

export async function readOnnxModel(file: string): Promise<ModelProto> {
  const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file}: cannot read the ONNX file (${error.code === 'ENOENT' ? 'no such file' : error.message})`);
  });
  const model = decodeOnnxModel(bytes, file);
  await loadExternalData(model, file);
  return model;
}

export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toNumber(entry.version) : 1;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** A copy to edit (graph/onnx.ts's cloneModel) without the value infos, whose shapes edits would leave stale. */
export function cloneModel(model: ModelProto): ModelProto {
  const copy = cloneModelProto(model);
  copy.graph!.valueInfo = [];
  return copy;
}

export { onnx };
