/**
 * Int8 inference for frozen parts: calibrate the BN-folded float graph on a sample of the user's images
 * (static min/max ranges of every quantized activation), build the QDQ graph (graph/quantize.ts), measure how
 * closely it agrees with float32 on held-out images, and cache the calibration so later runs skip it.
 */
import onnxProto from 'onnx-proto';
import { calibrationStore } from './calibration-cache-node.js';
import { activationTensors, foldBatchNorms, insertQdq, rangeOutputName, withRangeOutputs, type ActivationType, type TensorRange } from '../graph/quantize.js';
import { Session, type SessionOptions } from './session.js';
import { trace } from '../util/trace.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;

/** The calibration method tlkit implements: each tensor's minimum and maximum over the calibration images. */
export const CALIBRATION_METHOD = 'minmax';
/**
 * Default calibration sample. Its float32 pass is most of int8's start-up cost on a first run (ResNet-50,
 * 224 px, 2-core AMD EPYC, quiet: ~1.1-1.6 s a batch of 16, the calibration graph's first two runs being
 * ~1.5x later ones), and min/max ranges settle early: on the trained source model of
 * test/int8-agreement.test.ts, 512 held-out images, seeds 1-3, the mean cosine was 0.99983-0.99989 with 16
 * images, 0.99983-0.99988 with 32, 0.99986-0.99987 with 64 and 128 (min 0.9993-0.9996 for all). 64, then 32
 * before; the agreement every run reports (DEFAULT_AGREEMENT_IMAGES) is measured on other images.
 */
export const DEFAULT_CALIBRATION_IMAGES = 16;
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
  /** Called once per int8 model built (not when `builds` hands back one built earlier in the run). */
  onReport?: (report: Int8Report) => void;
  /** The run's int8 builds: a part built twice with these samples is calibrated and measured once. */
  builds?: Int8Builds;
}

/** What int8 work a run did, for its record: a run over one frozen part calibrates and measures it once. */
export interface Int8Work {
  /** Calibration passes over the sample's images (none when the calibration cache had them). */
  calibrations: number;
  /** Calibrations read back from the cache (TLKIT_HOME/calibration). */
  cacheHits: number;
  /** Agreement measurements (float32 and int8 over the held-out images). */
  agreements: number;
  /** Agreements read back from the cache, measured by an earlier run on the same model and samples. */
  agreementsCached: number;
  /** Builds answered with a model built earlier in the run (e.g. the final evaluation's backbone). */
  reused: number;
}

interface Int8Model {
  bytes: Uint8Array;
  report: Int8Report;
}

/**
 * The int8 models of one run, by graph, activation type and samples. Training builds the frozen prefix, and
 * the final evaluation (or a second feature extraction) builds the same graph again; without this, each build
 * calibrated (~1.5x a float32 pass over the calibration images) and measured the agreement anew, which on
 * the tutorial's 300 images cost more than int8 saved.
 */
export class Int8Builds {
  readonly work: Int8Work = { calibrations: 0, cacheHits: 0, agreements: 0, agreementsCached: 0, reused: 0 };
  private readonly models = new Map<string, Promise<Int8Model>>();

  /** The model built for `key`, building it (once, even when asked again meanwhile) with `build`. */
  async get(key: string, build: () => Promise<Int8Model>): Promise<Int8Model> {
    const earlier = this.models.get(key);
    if (earlier) {
      this.work.reused++;
      return earlier;
    }
    const model = build();
    this.models.set(key, model);
    // A failed build is not kept: the next request tries again.
    model.catch(() => this.models.delete(key));
    return model;
  }
}

export interface Int8Report {
  precision: 'int8';
  weights: 'int8, symmetric, per output channel';
  activations: ActivationType;
  calibration: { method: typeof CALIBRATION_METHOD; images: number; sample: string; cached: boolean; file?: string };
  quantized: { convs: number; activationTensors: number; foldedBatchNorms: number };
  /** Cosine similarity of int8 and float32 outputs of the quantized part (per image, flattened). */
  agreement?: { images: number; sample: string; meanCosine: number; minCosine: number; cached: boolean };
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

/** Min/max of every tensor over the sample, reduced inside ORT (graph/quantize.ts's withRangeOutputs). */
export async function calibrateRanges(folded: ModelProto, inputShape: readonly number[], sample: ImageSample, session: SessionOptions = {}): Promise<Map<string, TensorRange>> {
  const tensors = activationTensors(folded);
  const inputName = folded.graph!.input![0]!.name!;
  const probe = await Session.create(onnx.ModelProto.encode(withRangeOutputs(folded, tensors)).finish(), session);
  const ranges = new Map<string, TensorRange>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  let seen = 0;
  try {
    for await (const { images, count } of sample.batches()) {
      const outputs = await probe.run({ [inputName]: { data: images, shape: [count, ...inputShape] } });
      for (const name of tensors) {
        const range = ranges.get(name)!;
        // No minimum output: a ReLU's output, whose minimum is 0 (withRangeOutputs).
        const min = outputs[rangeOutputName(name, 'min')];
        range.min = Math.min(range.min, min ? (min.data as Float32Array)[0]! : 0);
        range.max = Math.max(range.max, (outputs[rangeOutputName(name, 'max')]!.data as Float32Array)[0]!);
      }
      seen += count;
    }
  } finally {
    await probe.release();
  }
  if (seen === 0) throw new Error('int8 calibration: the calibration sample has no images');
  return ranges;
}

interface CachedAgreement {
  format: 'tlkit-int8-agreement-1';
  images: number;
  meanCosine: number;
  minCosine: number;
}

async function readAgreement(file: string): Promise<Omit<CachedAgreement, 'format'> | undefined> {
  const cached = (await calibrationStore?.read(file)) as CachedAgreement | undefined;
  if (cached?.format !== 'tlkit-int8-agreement-1' || ![cached.images, cached.meanCosine, cached.minCosine].every(Number.isFinite)) return undefined;
  return { images: cached.images, meanCosine: cached.meanCosine, minCosine: cached.minCosine };
}

async function readCache(file: string, tensors: readonly string[]): Promise<Map<string, TensorRange> | undefined> {
  const cached = (await calibrationStore?.read(file)) as CachedCalibration | undefined;
  if (!cached) return undefined;
  if (cached.format !== 'tlkit-int8-calibration-1' || !tensors.every((t) => cached.ranges[t])) return undefined;
  return new Map(tensors.map((t) => [t, cached.ranges[t]!]));
}

async function digest(bytes: Uint8Array): Promise<string> {
  const hash = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The BN-folded float model int8 starts from, encoded once, and the digest that identifies it. */
interface FoldedModel {
  model: ModelProto;
  folded: number;
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, which leave out the graph's name and the model's metadata: `export` and `predict` of one model share a calibration. */
  digest: string;
}

async function foldedModelOf(float: ModelProto): Promise<FoldedModel> {
  const { model, folded } = foldBatchNorms(float);
  const named = { name: model.graph!.name, metadataProps: model.metadataProps };
  model.graph!.name = '';
  model.metadataProps = [];
  const bytes = onnx.ModelProto.encode(model).finish();
  // The int8 model is built from this one: an exported file keeps its name and metadata.
  model.graph!.name = named.name;
  model.metadataProps = named.metadataProps;
  return { model, folded, bytes, digest: await digest(bytes) };
}

/**
 * The int8 QDQ model of a float inference model, with what was done and measured. The calibration is
 * keyed by the folded float model (weights included) and the calibration sample's identity; with
 * `options.builds`, a model already built in this run is handed back without any of the work.
 */
export async function buildInt8Model(
  float: ModelProto,
  inputShape: readonly number[],
  options: Int8Options,
  session: SessionOptions = {},
): Promise<Int8Model> {
  trace('network weights and float32 inference graph');
  const folded = await foldedModelOf(float);
  trace('int8: BN folded');
  const builds = options.builds;
  if (!builds) return buildNewInt8Model(folded, inputShape, options, session);
  const key = [folded.digest, inputShape.join('x'), options.activations ?? 'uint8', options.calibration.key, options.heldOut?.key ?? 'no agreement'].join('|');
  return builds.get(key, () => buildNewInt8Model(folded, inputShape, options, session));
}

async function buildNewInt8Model(folded: FoldedModel, inputShape: readonly number[], options: Int8Options, session: SessionOptions): Promise<Int8Model> {
  const activations = options.activations ?? 'uint8';
  const work = options.builds?.work;
  const tensors = activationTensors(folded.model);
  const file = calibrationStore?.file(options.cacheDir, folded.digest, CALIBRATION_METHOD, options.calibration.key);
  let ranges = file ? await readCache(file, tensors) : undefined;
  const cached = ranges !== undefined;
  if (ranges) {
    if (work) work.cacheHits++;
  } else {
    ranges = await calibrateRanges(folded.model, inputShape, options.calibration, session);
    if (work) work.calibrations++;
    if (file) {
      const record: CachedCalibration = {
        format: 'tlkit-int8-calibration-1', method: CALIBRATION_METHOD, images: options.calibration.count,
        sample: options.calibration.description, ranges: Object.fromEntries(ranges),
      };
      await calibrationStore?.write(file, record);
    }
  }
  trace(cached ? 'int8: calibration read from the cache' : `int8: calibration (float32 pass over ${options.calibration.count} images)`);
  const { model: quantized, summary } = insertQdq(folded.model, ranges, { activations });
  const bytes = onnx.ModelProto.encode(quantized).finish();
  trace('int8: QDQ graph');
  const report: Int8Report = {
    precision: 'int8',
    weights: 'int8, symmetric, per output channel',
    activations,
    calibration: { method: CALIBRATION_METHOD, images: options.calibration.count, sample: options.calibration.description, cached, ...(file ? { file } : {}) },
    quantized: { convs: summary.convs, activationTensors: summary.activations, foldedBatchNorms: folded.folded },
    modelBytes: { float32: folded.bytes.length, int8: bytes.length },
  };
  if (options.heldOut) {
    // Kept beside the calibration: a run whose ranges came from the cache builds the same int8 model, so
    // one on the same held-out images measures the same agreement (2.2 s of the tutorial's 15 s run).
    const agreementFile = calibrationStore?.file(options.cacheDir, folded.digest, CALIBRATION_METHOD, `${options.calibration.key}\nagreement ${activations}\n${options.heldOut.key}`);
    const known = cached && agreementFile ? await readAgreement(agreementFile) : undefined;
    const measured = known ?? (await measureAgreement(folded.bytes, bytes, inputShape, options.heldOut, session));
    if (!known && agreementFile) {
      const record: CachedAgreement = { format: 'tlkit-int8-agreement-1', ...measured };
      await calibrationStore?.write(agreementFile, record);
    }
    report.agreement = { ...measured, sample: options.heldOut.description, cached: known !== undefined };
    if (work) work[known ? 'agreementsCached' : 'agreements']++;
    trace(known ? 'int8: agreement read from the cache' : `int8: agreement (float32 and int8 over ${options.heldOut.count} held-out images)`);
  }
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
    ? `; int8 vs float32 cosine ${report.agreement.meanCosine.toFixed(4)} mean, ${report.agreement.minCosine.toFixed(4)} min over ${report.agreement.images} held-out images${report.agreement.cached ? ' (cached)' : ''}`
    : '';
  return `int8: ${report.quantized.convs} convolutions (weights ${report.weights}, activations ${report.activations}), ` +
    `${report.calibration.method} calibration on ${report.calibration.images} images${report.calibration.cached ? ' (cached)' : ''}${agreement}`;
}
