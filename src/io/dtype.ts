import { numel, type DType, type HostTensor, type TypedArray } from '../tensor.js';

/** Bytes per element of each dtype as stored in weight files. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
  int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8,
  bool: 1, float8_e4m3fn: 1, float8_e5m2: 1,
};

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  // Every format read here stores little-endian data, and typed arrays use host order.
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('tlkit weight files need a little-endian host');
}

/** An empty typed array of the class that holds `dtype` (raw bits for 16/8-bit floats, Uint8Array for bool). */
export function allocateTyped(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'int8': return new Int8Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': return new Int32Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'uint8': case 'bool': case 'float8_e4m3fn': case 'float8_e5m2': return new Uint8Array(length);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'uint64': return new BigUint64Array(length);
  }
}

/**
 * Copies little-endian element bytes into a fresh, aligned typed array. The caller has already
 * checked that `bytes.length` equals elements × element size, so the allocation is bounded by input.
 */
export function typedFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  requireLittleEndianHost();
  const size = DTYPE_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw new Error(`${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  const out = allocateTyped(dtype, bytes.length / size);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/** Little-endian bytes of a tensor's data, as a view (no copy). */
export function tensorBytes(tensor: HostTensor): Uint8Array {
  requireLittleEndianHost();
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Throws unless the data array's class and length fit the dtype and shape. */
export function checkHostTensor(name: string, tensor: HostTensor): void {
  for (const d of tensor.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`tensor '${name}': bad dimension ${d} in shape [${tensor.shape.join(', ')}]`);
  }
  const expectedClass = allocateTyped(tensor.dtype, 0).constructor;
  if (tensor.data.constructor !== expectedClass) {
    throw new Error(`tensor '${name}': dtype ${tensor.dtype} needs ${expectedClass.name}, got ${tensor.data.constructor.name}`);
  }
  const count = numel(tensor.shape);
  if (tensor.data.length !== count) {
    throw new Error(`tensor '${name}': shape [${tensor.shape.join(', ')}] needs ${count} elements, data has ${tensor.data.length}`);
  }
}

const conversionView = new DataView(new ArrayBuffer(4));

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export function bfloat16BitsToFloat32(bits: number): number {
  conversionView.setUint32(0, (bits & 0xffff) << 16);
  return conversionView.getFloat32(0);
}

/** OCP FP8 E4M3 "fn": no infinities, only S.1111.111 is NaN, max 448. */
export function float8e4m3fnBitsToFloat32(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >> 3) & 0xf;
  const mantissa = bits & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** FP8 E5M2: the top byte of an IEEE float16. */
export function float8e5m2BitsToFloat32(bits: number): number {
  return float16BitsToFloat32((bits & 0xff) << 8);
}

/** Round-to-nearest-even float32 → float16 bits (what numpy's astype(float16) does). */
export function float32ToFloat16Bits(value: number): number {
  conversionView.setFloat32(0, value);
  const x = conversionView.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfway = 1 << (shift - 1);
    const remainder = mantissa & ((1 << shift) - 1);
    let half = mantissa >>> shift;
    if (remainder > halfway || (remainder === halfway && (half & 1))) half += 1;
    return sign | half;
  }
  const remainder = mantissa & 0x1fff;
  let half = (halfExponent << 10) | (mantissa >>> 13);
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half += 1;
  return sign | half;
}

/** Round-to-nearest-even float32 → bfloat16 bits (what torch's .to(bfloat16) does). */
export function float32ToBfloat16Bits(value: number): number {
  conversionView.setFloat32(0, value);
  const x = conversionView.getUint32(0);
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return ((x >>> 16) | 0x40) & 0xffff;
  const roundingBias = 0x7fff + ((x >>> 16) & 1);
  return ((x + roundingBias) >>> 16) & 0xffff;
}

/** Widens any tensor to float32 for loading into a network. int64 beyond 2^24 loses precision, as in numpy. */
export function toFloat32(tensor: HostTensor): Float32Array {
  const { dtype, data } = tensor;
  const out = new Float32Array(data.length);
  switch (dtype) {
    case 'float32':
      out.set(data as Float32Array);
      return out;
    case 'float16':
      for (let i = 0; i < data.length; i++) out[i] = float16BitsToFloat32((data as Uint16Array)[i]!);
      return out;
    case 'bfloat16':
      for (let i = 0; i < data.length; i++) out[i] = bfloat16BitsToFloat32((data as Uint16Array)[i]!);
      return out;
    case 'float8_e4m3fn':
      for (let i = 0; i < data.length; i++) out[i] = float8e4m3fnBitsToFloat32((data as Uint8Array)[i]!);
      return out;
    case 'float8_e5m2':
      for (let i = 0; i < data.length; i++) out[i] = float8e5m2BitsToFloat32((data as Uint8Array)[i]!);
      return out;
    case 'bool':
      for (let i = 0; i < data.length; i++) out[i] = (data as Uint8Array)[i] ? 1 : 0;
      return out;
    case 'int64': case 'uint64':
      for (let i = 0; i < data.length; i++) out[i] = Number((data as BigInt64Array | BigUint64Array)[i]!);
      return out;
    default:
      for (let i = 0; i < data.length; i++) out[i] = (data as Float64Array)[i]!;
      return out;
  }
}

/** Narrows float32 values into a tensor of `dtype` (for writing half-precision or integer files). */
export function fromFloat32(values: Float32Array, shape: number[], dtype: DType): HostTensor {
  const out = allocateTyped(dtype, values.length);
  switch (dtype) {
    case 'float16':
      for (let i = 0; i < values.length; i++) (out as Uint16Array)[i] = float32ToFloat16Bits(values[i]!);
      break;
    case 'bfloat16':
      for (let i = 0; i < values.length; i++) (out as Uint16Array)[i] = float32ToBfloat16Bits(values[i]!);
      break;
    case 'float8_e4m3fn': case 'float8_e5m2':
      throw new Error(`writing ${dtype} is not supported; keep such tensors as raw bits`);
    case 'bool':
      for (let i = 0; i < values.length; i++) (out as Uint8Array)[i] = values[i] ? 1 : 0;
      break;
    case 'int64':
      for (let i = 0; i < values.length; i++) (out as BigInt64Array)[i] = BigInt(Math.trunc(values[i]!));
      break;
    case 'uint64':
      for (let i = 0; i < values.length; i++) (out as BigUint64Array)[i] = BigInt(Math.max(0, Math.trunc(values[i]!)));
      break;
    default:
      (out as Float32Array).set(values);
  }
  return { dtype, shape, data: out };
}

/** One array holding the parts in order (Buffer.concat without Buffer, so it runs in a browser too). */
export function concatBytes(parts: readonly Uint8Array[], totalBytes = parts.reduce((sum, p) => sum + p.length, 0)): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === totalBytes) return parts[0]!;
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part.subarray(0, Math.min(part.length, totalBytes - offset)), offset);
    offset += part.length;
    if (offset >= totalBytes) break;
  }
  return out;
}
