import { promises as fs } from 'node:fs';
import onnxProto from 'onnx-proto';
import { numel, type DType, type HostTensor } from '../tensor.js';
import { DTYPE_BYTES, allocateTyped, typedFromBytes } from './dtype.js';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType numbers → tlkit dtypes (17/19 are the FP8 types added in ONNX 1.14). */
const ONNX_TO_DTYPE: Readonly<Record<number, DType>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
  17: 'float8_e4m3fn', 19: 'float8_e5m2',
};

const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'undefined', 8: 'string', 14: 'complex64', 15: 'complex128', 18: 'float8e4m3fnuz', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

export function onnxTypeName(elemType: number): string {
  return ONNX_TO_DTYPE[elemType] ?? ONNX_TYPE_NAMES[elemType] ?? `type ${elemType}`;
}

type LongLike = number | { toNumber(): number };

function toNumber(value: LongLike | null | undefined): number {
  if (value == null) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

export interface OnnxValueInfo {
  name: string;
  elemType: string;
  /** Numbers for fixed dimensions, strings for symbolic ones, '?' when unknown. */
  shape: (number | string)[];
}

export interface OnnxInitializerInfo {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  external: boolean;
}

export interface OnnxSummary {
  irVersion: number;
  producer: string;
  opsets: { domain: string; version: number }[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializerInfo[];
  nodeCount: number;
}

function decodeModel(bytes: Uint8Array, source: string): InstanceType<typeof onnx.ModelProto> {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`${source}: not an ONNX model (protobuf decoding failed: ${error instanceof Error ? error.message : String(error)})`);
  }
  if (!model.graph) throw new Error(`${source}: not an ONNX model (no graph)`);
  return model;
}

function valueInfo(info: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const tensorType = info.type?.tensorType;
  const dims = tensorType?.shape?.dim ?? [];
  return {
    name: info.name ?? '',
    elemType: tensorType ? onnxTypeName(tensorType.elemType ?? 0) : 'non-tensor',
    shape: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : '?')),
  };
}

function dimsOf(tensor: onnxProto.onnx.ITensorProto, source: string): number[] {
  return (tensor.dims ?? []).map((d) => {
    const n = toNumber(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${source}: tensor '${tensor.name}' has invalid dimension ${String(d)}`);
    return n;
  });
}

export function summarizeOnnx(bytes: Uint8Array, source = 'onnx'): OnnxSummary {
  const model = decodeModel(bytes, source);
  const graph = model.graph!;
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  return {
    irVersion: toNumber(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version) })),
    // Older exporters list initializers among the graph inputs; those are weights, not inputs.
    inputs: (graph.input ?? []).filter((i) => !initializerNames.has(i.name ?? '')).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
    initializers: (graph.initializer ?? []).map((t) => {
      const shape = dimsOf(t, source);
      return { name: t.name ?? '', dtype: onnxTypeName(t.dataType ?? 0), shape, numel: numel(shape), external: t.dataLocation === 1 };
    }),
    nodeCount: (graph.node ?? []).length,
  };
}

export async function inspectOnnx(file: string): Promise<OnnxSummary> {
  return summarizeOnnx(await fs.readFile(file), file);
}

/** Converts one decoded TensorProto (raw_data or typed fields) into a host tensor. */
export function tensorFromOnnx(tensor: onnxProto.onnx.ITensorProto, source: string): HostTensor {
  const name = tensor.name || '(unnamed)';
  if (tensor.dataLocation === 1) throw new Error(`${source}: tensor '${name}' keeps its data in an external file, which tlkit does not read`);
  const dtype = ONNX_TO_DTYPE[tensor.dataType ?? 0];
  if (!dtype) throw new Error(`${source}: tensor '${name}' has unsupported type ${onnxTypeName(tensor.dataType ?? 0)}`);
  const shape = dimsOf(tensor, source);
  const count = numel(shape);
  if (tensor.rawData && tensor.rawData.length > 0) {
    const expected = count * DTYPE_BYTES[dtype];
    if (tensor.rawData.length !== expected) {
      throw new Error(`${source}: tensor '${name}' shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes, raw_data has ${tensor.rawData.length}`);
    }
    return { dtype, shape, data: typedFromBytes(dtype, tensor.rawData) };
  }
  const typed: ArrayLike<LongLike> =
    dtype === 'float32' ? tensor.floatData ?? []
      : dtype === 'float64' ? tensor.doubleData ?? []
        : dtype === 'int64' ? tensor.int64Data ?? []
          : dtype === 'uint32' || dtype === 'uint64' ? tensor.uint64Data ?? []
            : tensor.int32Data ?? [];
  if (typed.length !== count) {
    throw new Error(`${source}: tensor '${name}' shape [${shape.join(', ')}] needs ${count} values, found ${typed.length}`);
  }
  const data = allocateTyped(dtype, count);
  for (let i = 0; i < count; i++) {
    const value = typed[i]!;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      data[i] = typeof value === 'number' ? BigInt(value) : BigInt(value.toString());
    } else {
      data[i] = toNumber(value);
    }
  }
  return { dtype, shape, data };
}

/** Reads a serialized TensorProto (.pb, as in the ONNX backend test data). */
export function parseOnnxTensor(bytes: Uint8Array, source = 'onnx tensor'): HostTensor {
  let tensor: InstanceType<typeof onnx.TensorProto>;
  try {
    tensor = onnx.TensorProto.decode(bytes);
  } catch (error) {
    throw new Error(`${source}: not an ONNX TensorProto (${error instanceof Error ? error.message : String(error)})`);
  }
  return tensorFromOnnx(tensor, source);
}

/** The weights stored inside an ONNX model, by initializer name. */
export function parseOnnxInitializers(bytes: Uint8Array, source = 'onnx'): Map<string, HostTensor> {
  const model = decodeModel(bytes, source);
  return new Map((model.graph!.initializer ?? []).map((t) => [t.name ?? '', tensorFromOnnx(t, source)]));
}
