/** Element types shared by the weight readers/writers and the engine. */
export type DType =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'float8_e4m3fn' | 'float8_e5m2';

export type TypedArray =
  | Float32Array | Float64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/**
 * A tensor held in host memory. 16-bit and 8-bit float types keep their raw bits
 * (Uint16Array / Uint8Array); `toFloat32` in io/dtype.ts widens them.
 */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function float32Tensor(shape: number[], data?: Float32Array): HostTensor & { data: Float32Array } {
  const size = numel(shape);
  if (data && data.length !== size) {
    throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${size}`);
  }
  return { dtype: 'float32', shape, data: data ?? new Float32Array(size) };
}

/** `[2, 3, 224, 224]`; symbolic dimensions (an ONNX file's 'batch') print as their names. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
