/**
 * The weight formula of tools/make-reference.py, reproduced bit for bit, and readers for the
 * PyTorch reference values it writes to fixtures/parity/. Integer hashing only (no sin/exp), so
 * V8 and numpy produce identical float32 tensors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../src/tensor.js';
import { numel } from '../../src/tensor.js';

export const PARITY_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'parity');

export interface FormulaSpec {
  seed: number;
  offset: number;
  scale: number;
}

/** lowbias32 of (index * golden + seed * 0x85EBCA77) mod 2^32, as tools/make-reference.py's hash32. */
export function hash32(index: number, seed: number): number {
  let x = (Math.imul(index, 0x9e3779b1) + Math.imul(seed, 0x85ebca77)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** float32(offset + scale * u), u = ((h >>> 8) - 2^23) / 2^23 exactly; the double is rounded once, as numpy's astype. */
export function formulaTensor(shape: readonly number[], spec: FormulaSpec): Float32Array {
  const out = new Float32Array(numel(shape));
  for (let i = 0; i < out.length; i++) {
    const u = ((hash32(i, spec.seed) >>> 8) - 8388608) / 8388608;
    out[i] = spec.offset + spec.scale * u;
  }
  return out;
}

export interface ReferenceTensor extends FormulaSpec {
  /** torchvision's name. */
  name: string;
  shape: number[];
  /** Flat indices of the sampled entries. */
  indices: number[];
  /** After one optimizer step (weights) or one training-mode forward (BN running statistics). */
  updatedSample: number[];
  /** Trainable weights only. */
  gradNorm?: number;
  gradRms?: number;
  gradSample?: number[];
  /** |torch float32 grad - float64 grad| / |float64 grad| (zoo fixtures only). */
  torchFloat32GradError?: number;
  /** The same for the sampled entries, each against max(|float64 entry|, gradient RMS). */
  torchFloat32SampleError?: number;
}

export interface ResNetReference {
  model: 'resnet18' | 'resnet50';
  /** 'pad' is PyTorch's padding; 'same' was emulated in torch with explicit F.pad (TensorFlow's rule). */
  padMode: 'pad' | 'same';
  numClasses: number;
  input: FormulaSpec & { shape: number[] };
  labels: number[];
  optimizer: { kind: 'momentum'; learningRate: number; momentum: number };
  evalLogits: number[];
  trainLogits: number[];
  loss: number;
  tensors: ReferenceTensor[];
  torchFloat32Deviation: Record<string, number>;
}

export interface SamePaddingCase {
  height: number;
  width: number;
  kernel: number;
  stride: number;
  pads: { top: number; bottom: number; left: number; right: number };
  inputShape: number[];
  weightShape: number[];
  input: FormulaSpec;
  weight: FormulaSpec;
  upstream: FormulaSpec;
  conv: { shape: number[]; output: number[]; inputGrad: number[]; weightGrad: number[] };
  maxPool: { shape: number[]; output: number[]; inputGrad: number[] };
}

export function readParityFixture<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(PARITY_FIXTURES, file), 'utf8')) as T;
}

/** Every parameter and BN buffer of the reference, by torchvision name, as a loader expects them. */
export function referenceWeights(reference: ResNetReference): Map<string, HostTensor> {
  return new Map(reference.tensors.map((t) => [t.name, { dtype: 'float32', shape: t.shape, data: formulaTensor(t.shape, t) }]));
}

/** max |a - b| / max |b|: the error on the scale of the whole reference vector. */
export function maxErrorOnScale(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  let error = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    error = Math.max(error, Math.abs(actual[i]! - expected[i]!));
  }
  return error / scale;
}

/**
 * Relative error of sampled entries, each against max(|expected|, floor): an entry that happens
 * to sit near zero is judged on the tensor's typical magnitude (`floor`), not on its own.
 */
export function maxSampleError(actual: Float32Array, indices: readonly number[], expected: readonly number[], floor: number): number {
  let worst = 0;
  indices.forEach((index, k) => {
    const reference = expected[k]!;
    worst = Math.max(worst, Math.abs(actual[index]! - reference) / Math.max(Math.abs(reference), floor));
  });
  return worst;
}

export function l2Norm(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

/** The worst error seen per comparison, with the tensor it came from (printed by the tests for the record). */
export class ErrorLog {
  private readonly worst = new Map<string, { error: number; where: string }>();

  note(comparison: string, error: number, where: string): number {
    const current = this.worst.get(comparison);
    if (!current || error > current.error || Number.isNaN(error)) this.worst.set(comparison, { error, where });
    return error;
  }

  summary(): string {
    return [...this.worst].map(([k, { error, where }]) => `${k}: ${error.toExponential(2)} (${where})`).join('\n');
  }
}
