/**
 * Int8 inference for frozen parts: calibrate the BN-folded float graph on a sample of the user's images
 * (static min/max ranges of every quantized activation), build the QDQ graph (graph/quantize.ts), measure how
 * closely it agrees with float32 on held-out images, and cache the calibration so later runs skip it.
 */
import onnxProto from 'onnx-proto';
import { calibrationStore } from './calibration-cache-node.js';
import { activationTensors, foldBatchNorms, insertQdq, withOutputs, type ActivationType, type TensorRange } from '../graph/quantize.js';
import { Session, type SessionOptions } from './session.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;

/** The calibration method tlkit implements: each tensor's minimum and maximum over the calibration images. */
export const CALIBRATION_METHOD = 'minmax';
/** Default calibration sample: enough for stable min/max of a ResNet's activations, a few seconds of float inference. */
export const DEFAULT_CALIBRATION_IMAGES = 64;
/** Default held-out images for the int8 vs float32 agreement. */
export const DEFAULT_AGREEMENT_IMAGES = 32;

/** Transformed images (as the network sees them) in batches. */
export interface ImageSample {
  readonly count: number;
  /** What the images are, for the run record ("64 of 240 images of data/train, seed 0, val transforms"). */
  readonly description: string;
  /** Identifies the exact images and transforms, for the calibration cache. */
  readonly key: string;
  batches(): AsyncIterable<{ images: Float32Array; count: number }>;
}

export interface Int8Options {
  calibration: ImageSample;
  /** Images for the agreement measurement (not in the calibration sample); none: not measured. */
  heldOut?: ImageSample;
  activations?: ActivationType;
  /** Folder of cached calibrations (default <tlkit home>/calibration); null turns the cache off. */
  cacheDir?: string | null;
  onReport?: (report: Int8Report) => void;
}

export interface Int8Report {
  precision: 'int8';
  weights: 'int8, symmetric, per output channel';
  activations: ActivationType;
  calibration: { method: typeof CALIBRATION_METHOD; images: number; sample: string; cached: boolean; file?: string };
  quantized: { convs: number; activationTensors: number; foldedBatchNorms: number };
  /** Cosine similarity of int8 and float32 outputs of the quantized part (per image, flattened). */
  agreement?: { images: number; sample: string; meanCosine: number; minCosine: number };
  modelBytes: { float32: number; int8: number };
}

interface CachedCalibration {
  format: 'tlkit-int8-calibration-1';
  method: typeof CALIBRATION_METHOD;
  images: number;
  sample: string;
  ranges: Record<string, TensorRange>;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 && nb === 0) return 1;
  return dot / Math.sqrt(na * nb || Number.MIN_VALUE);
}

/** Per-image cosine similarities of two [N, ...] outputs. */
export function rowCosines(a: Float32Array, b: Float32Array, rows: number): number[] {
  const per = a.length / rows;
  return Array.from({ length: rows }, (_, k) => cosine(a.subarray(k * per, (k + 1) * per), b.subarray(k * per, (k + 1) * per)));
}

/** Min/max of every tensor over the sample, with the float graph's intermediate tensors as extra outputs. */
export async function calibrateRanges(folded: ModelProto, inputShape: readonly number[], sample: ImageSample, session: SessionOptions = {}): Promise<Map<string, TensorRange>> {
  const tensors = activationTensors(folded);
  const inputName = folded.graph!.input![0]!.name!;
  const probe = await Session.create(onnx.ModelProto.encode(withOutputs(folded, tensors.filter((t) => t !== inputName))).finish(), session);
  const ranges = new Map<string, TensorRange>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  let seen = 0;
  try {
    for await (const { images, count } of sample.batches()) {
      const outputs = await probe.run({ [inputName]: { data: images, shape: [count, ...inputShape] } });
      for (const name of tensors) {
        const data = name === inputName ? images : (outputs[name]!.data as Float32Array);
        const range = ranges.get(name)!;
        let { min, max } = range;
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        range.min = min;
        range.max = max;
      }
      seen += count;
    }
  } finally {
    await probe.release();
  }
  if (seen === 0) throw new Error('int8 calibration: the calibration sample has no images');
  return ranges;
}

async function readCache(file: string, tensors: readonly string[]): Promise<Map<string, TensorRange> | undefined> {
  const cached = (await calibrationStore?.read(file)) as CachedCalibration | undefined;
  if (!cached) return undefined;
  if (cached.format !== 'tlkit-int8-calibration-1' || !tensors.every((t) => cached.ranges[t])) return undefined;
  return new Map(tensors.map((t) => [t, cached.ranges[t]!]));
}

/**
 * The int8 QDQ model of a float inference model, with what was done and measured. The calibration is
 * keyed by the folded float model's bytes (weights included) and the calibration sample's identity.
 */
export async function buildInt8Model(
  float: ModelProto,
  inputShape: readonly number[],
  options: Int8Options,
  session: SessionOptions = {},
): Promise<{ bytes: Uint8Array; report: Int8Report }> {
  const activations = options.activations ?? 'uint8';
  const { model: folded, folded: foldedCount } = foldBatchNorms(float);
  const foldedBytes = onnx.ModelProto.encode(folded).finish();
  const tensors = activationTensors(folded);
  // The graph's nodes and weights, not its name: `export` and `predict` of one model share a calibration.
  const graphBytes = onnx.GraphProto.encode({ ...folded.graph!, name: '' }).finish();
  const file = calibrationStore?.file(options.cacheDir, graphBytes, CALIBRATION_METHOD, options.calibration.key);
  let ranges = file ? await readCache(file, tensors) : undefined;
  const cached = ranges !== undefined;
  if (!ranges) {
    ranges = await calibrateRanges(folded, inputShape, options.calibration, session);
    if (file) {
      const record: CachedCalibration = {
        format: 'tlkit-int8-calibration-1', method: CALIBRATION_METHOD, images: options.calibration.count,
        sample: options.calibration.description, ranges: Object.fromEntries(ranges),
      };
      await calibrationStore?.write(file, record);
    }
  }
  const { model: quantized, summary } = insertQdq(folded, ranges, { activations });
  const bytes = onnx.ModelProto.encode(quantized).finish();
  const report: Int8Report = {
    precision: 'int8',
    weights: 'int8, symmetric, per output channel',
    activations,
    calibration: { method: CALIBRATION_METHOD, images: options.calibration.count, sample: options.calibration.description, cached, ...(file ? { file } : {}) },
    quantized: { convs: summary.convs, activationTensors: summary.activations, foldedBatchNorms: foldedCount },
    modelBytes: { float32: foldedBytes.length, int8: bytes.length },
  };
  if (options.heldOut) report.agreement = { ...(await measureAgreement(foldedBytes, bytes, inputShape, options.heldOut, session)), sample: options.heldOut.description };
  options.onReport?.(report);
  return { bytes, report };
}

/** Cosine similarity of the two models' first outputs, image by image, over `sample`. */
export async function measureAgreement(
  floatBytes: Uint8Array,
  int8Bytes: Uint8Array,
  inputShape: readonly number[],
  sample: ImageSample,
  session: SessionOptions = {},
): Promise<{ images: number; meanCosine: number; minCosine: number }> {
  const [a, b] = await Promise.all([Session.create(floatBytes, session), Session.create(int8Bytes, session)]);
  const cosines: number[] = [];
  try {
    for await (const { images, count } of sample.batches()) {
      const feed = { [a.inputNames[0]!]: { data: images, shape: [count, ...inputShape] } };
      const x = (await a.run(feed))[a.outputNames[0]!]!.data as Float32Array;
      const y = (await b.run(feed))[b.outputNames[0]!]!.data as Float32Array;
      cosines.push(...rowCosines(x, y, count));
    }
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
  if (cosines.length === 0) throw new Error('int8 agreement: the held-out sample has no images');
  return { images: cosines.length, meanCosine: cosines.reduce((s, c) => s + c, 0) / cosines.length, minCosine: Math.min(...cosines) };
}

export function describeInt8(report: Int8Report): string {
  const agreement = report.agreement
    ? `; int8 vs float32 cosine ${report.agreement.meanCosine.toFixed(4)} mean, ${report.agreement.minCosine.toFixed(4)} min over ${report.agreement.images} held-out images`
    : '';
  return `int8: ${report.quantized.convs} convolutions (weights ${report.weights}, activations ${report.activations}), ` +
    `${report.calibration.method} calibration on ${report.calibration.images} images${report.calibration.cached ? ' (cached)' : ''}${agreement}`;
}
