/** The symbolic tensors and nodes a graph is built from, before they become ONNX protobuf. */
import type onnxProto from 'onnx-proto';

export type ElementType = 'float32' | 'int64' | 'bool';

export interface SymbolicTensor {
  /** Unique value name in the graph. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: ElementType;
}

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] } | TensorAttribute | RawAttribute;

/** An attribute read from an imported ONNX file, written back unchanged (graphs, strings, any tensor type). */
export interface RawAttribute {
  readonly raw: onnxProto.onnx.IAttributeProto;
}

/** A tensor-valued attribute (ConstantOfShape's value). */
export interface TensorAttribute {
  readonly tensor: { type: ElementType; shape: number[]; values: number[] };
}

export interface GraphNode {
  readonly opType: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: Record<string, AttributeValue>;
  /** Operator set domain ('' = ai.onnx); imported nodes may use others (com.microsoft). */
  readonly domain?: string;
  /** The node's name in an imported file, kept for error messages and inspection. */
  readonly name?: string;
}

export interface Initializer {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array | Uint8Array;
}

export interface GraphValueInfo {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly (number | string)[];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy-style broadcasting, used by every element-wise op's shape rule. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}
