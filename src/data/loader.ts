import { ImageDecodeError, SkippedFiles } from './bad-images.js';
import { Dataset, ImageSource, isSourceDataset, Sample, SourceDataset } from './dataset.js';
import { DecodedCache } from './decoded-cache.js';
import { imageBackend } from './image-backend.js';
import { mixSeed, mulberry32, shuffleInPlace } from './random.js';
import { compose, Pipeline, TransformStep } from './transforms.js';

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  /** Drives shuffling and the random transforms; epoch e of seed s is the same on every run. */
  seed?: number;
  /** Drop the last, smaller batch (MindSpore's drop_remainder; default false). */
  dropRemainder?: boolean;
  /** Applied to each example's source image; without it the dataset's own `get` is used. */
  transforms?: Pipeline | readonly TransformStep[];
  /** Examples being decoded at once; sharp runs each on the libuv threadpool. */
  concurrency?: number;
  /**
   * Extra batches in flight (default 1): while the consumer holds batch k (ORT running it), batches k+1 ..
   * k+1+prefetch are being decoded, so the loader's threads and ORT's overlap (test/data-prefetch.test.ts).
   */
  prefetch?: number;
  /**
   * An example whose image fails to decode: 'replace' (default) skips it and takes the next example of the
   * epoch in its place, so batches keep their size and the epoch its length; 'drop' leaves its batch one
   * smaller (evaluation, where no example should count twice); 'fail' stops with the error.
   */
  onBadImage?: 'replace' | 'drop' | 'fail';
  /** Where skipped images are recorded and warned about, once each; share one between loaders of a run. */
  skipped?: SkippedFiles;
  /**
   * Decoded images kept in memory so later epochs skip the JPEG decode (web-size photos; see
   * data/decoded-cache.ts): a budget in bytes (0 = off) or a cache to share between loaders. Default: the
   * image backend's (Node: a quarter of the free memory, at most 1 GiB; the browser: off). Outputs are the
   * same with or without it. Filling it costs ~0.7 CPU ms more per web photo (a whole decode, then a sharp call
   * on the pixels), so a loader read once (prediction, a calibration sample) should pass 0.
   */
  decodedCache?: number | DecodedCache;
}

export interface Batch {
  /** N x C x H x W, contiguous. */
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
  /** Positions of the examples in the dataset. */
  indices: Int32Array;
}

/**
 * Default in-flight examples: twice the libuv worker threads, which is where sharp decodes (each image on
 * one libvips thread: sharp.concurrency() is 1 on glibc Linux), so a thread never waits for the main
 * thread to hand it the next image (bench/loader.ts: 8 beat 4 and 2 on 2 cores).
 * libuv reads UV_THREADPOOL_SIZE (default 4) once, before its first task, so it must be set at start-up.
 */
export function defaultConcurrency(): number {
  const pool = Number((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.UV_THREADPOOL_SIZE);
  return 2 * (Number.isInteger(pool) && pool > 0 ? pool : 4);
}

/**
 * Batches a dataset like MindSpore's `dataset.shuffle().map(transforms).batch(n)`. Iterating the loader
 * runs one epoch; each new iteration is the next epoch (new shuffle, new augmentations).
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly dropRemainder: boolean;
  private readonly pipeline: Pipeline | undefined;
  private readonly concurrency: number;
  private readonly prefetch: number;
  private nextEpoch = 0;
  /** Dataset positions known not to decode: skipped without another try in later epochs. */
  private readonly bad = new Set<number>();
  readonly skipped: SkippedFiles;
  /** This loader's decoded-image cache (its hits and size); undefined when off. */
  readonly decodedCache: DecodedCache | undefined;

  constructor(readonly dataset: Dataset, private readonly options: LoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.batchSize = options.batchSize;
    this.dropRemainder = options.dropRemainder ?? false;
    const transforms = options.transforms;
    this.pipeline = transforms === undefined ? undefined : transforms instanceof Pipeline ? transforms : compose(transforms);
    if (this.pipeline && !isSourceDataset(dataset)) {
      throw new Error('DataLoader: transforms need a dataset with image sources (ImageFolder, InMemoryDataset or a view of one)');
    }
    this.concurrency = Math.max(1, options.concurrency ?? defaultConcurrency());
    this.prefetch = Math.max(0, options.prefetch ?? 1);
    this.skipped = options.skipped ?? new SkippedFiles();
    this.decodedCache = this.pipeline ? makeDecodedCache(options.decodedCache) : undefined;
  }

  /** Batches per epoch: MindSpore's get_dataset_size(). */
  get steps(): number {
    const n = this.dataset.length;
    return this.dropRemainder ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** True when the transforms are random, so an example differs between epochs (fit caches features only when not). */
  get isRandom(): boolean {
    return this.pipeline?.isRandom ?? false;
  }

  /** The example order of an epoch; examples known not to decode are replaced as the batches replace them. */
  order(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.options.shuffle) shuffleInPlace(order, mulberry32(mixSeed(this.options.seed ?? 0, epoch, 0x5eed)));
    if (this.bad.size === 0 || this.options.onBadImage === 'drop' || this.options.onBadImage === 'fail') return order;
    const planned = order.slice();
    for (let p = 0; p < order.length; p++) {
      for (let k = 0; k < order.length && this.bad.has(order[p]!); k++) order[p] = planned[(p + k) % order.length]!;
    }
    return order;
  }

  /** Dataset positions skipped because their images failed to decode. */
  get excluded(): ReadonlySet<number> {
    return this.bad;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch(this.nextEpoch++)[Symbol.asyncIterator]();
  }

  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const steps = this.steps;
    const slots = new Semaphore(this.concurrency);
    const load = (position: number, into?: Float32Array): Promise<Loaded | undefined> =>
      this.loadOrReplace(order, position, (index) => slots.run(() => this.loadExample(index, mixSeed(this.options.seed ?? 0, epoch, position), into)), slots);
    // With a fixed output shape each example is written straight into its batch (no per-example array and copy).
    const shape = this.pipeline?.fixedShape;
    const size = shape ? shape[0] * shape[1] * shape[2] : 0;
    const makeBatch = (step: number): Promise<Batch | undefined> => {
      const start = step * this.batchSize;
      const end = Math.min(start + this.batchSize, order.length);
      const positions = Array.from({ length: end - start }, (_, k) => start + k);
      const images = shape ? new Float32Array(positions.length * size) : undefined;
      const batch = Promise.all(positions.map((position, k) => load(position, images?.subarray(k * size, (k + 1) * size)))).then((loaded) => {
        const kept = loaded.filter((l): l is Loaded => l !== undefined);
        return kept.length === 0 ? undefined : assemble(kept, images);
      });
      batch.catch(() => undefined); // awaited in order below; this only stops an early failure being "unhandled"
      return batch;
    };
    const pending: Array<Promise<Batch | undefined>> = [];
    let next = 0;
    while (next < steps && pending.length <= this.prefetch) pending.push(makeBatch(next++));
    while (pending.length > 0) {
      const batch = await pending.shift()!;
      if (next < steps) pending.push(makeBatch(next++));
      if (batch) yield batch;
    }
  }

  /** The example at `position`, or, when its image does not decode, what onBadImage says to do instead. */
  private async loadOrReplace(order: Int32Array, position: number, load: (index: number) => Promise<Sample>, slots: Semaphore): Promise<Loaded | undefined> {
    const mode = this.options.onBadImage ?? 'replace';
    // 'replace' walks on to the next example of the epoch (wrapping round), skipping the ones known bad.
    for (let k = 0; k < order.length; k++) {
      const index = order[(position + k) % order.length]!;
      if (!this.bad.has(index)) {
        try {
          return { sample: await load(index), index };
        } catch (error) {
          if (!(error instanceof ImageDecodeError) || mode === 'fail') throw error;
          this.bad.add(index);
          // Alone: libvips' one error buffer gives overlapping failures each other's messages.
          const reason = await slots.exclusive(() => this.explain(index, error));
          this.skipped.add({ path: error.path, kind: 'bad-image', reason });
        }
      }
      if (mode === 'drop') return undefined;
    }
    throw new Error(`DataLoader: none of the ${order.length} examples decodes (see the warnings above)`);
  }

  private explain(index: number, error: ImageDecodeError): Promise<string> {
    return explainFailure(isSourceDataset(this.dataset) ? this.dataset.sourceAt(index) : undefined, error);
  }

  private async loadExample(index: number, seed: number, into?: Float32Array): Promise<Sample> {
    const label = this.dataset.labelAt(index);
    if (!this.pipeline) return this.dataset.get(index);
    const source = (this.dataset as SourceDataset).sourceAt(index);
    const output = await this.pipeline.apply(source, mulberry32(seed), into, this.decodedCache);
    if (output.layout !== 'CHW') throw new Error('DataLoader: transforms must end with HWC2CHW so batches are N x C x H x W');
    return { image: output.data, shape: output.shape, label };
  }
}

/** The cache a loader makes of its `decodedCache` option (undefined: the image backend's default budget); undefined when off. */
export function makeDecodedCache(option: number | DecodedCache | undefined): DecodedCache | undefined {
  if (option instanceof DecodedCache) return option;
  const bytes = option ?? imageBackend().defaultDecodedCacheBytes?.() ?? 0;
  if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`DataLoader: decodedCache must be a number of bytes >= 0 or a DecodedCache, got ${option}`);
  return bytes > 0 ? new DecodedCache(bytes) : undefined;
}

interface Loaded {
  sample: Sample;
  /** Position in the dataset: not the planned one when a bad image was replaced. */
  index: number;
}

/** The reason from a decode of the file alone: messages of failures that overlap get swapped. */
async function explainFailure(source: ImageSource | undefined, error: ImageDecodeError): Promise<string> {
  const said = `cannot decode: ${error.reason.split('\n')[0]}`;
  const explain = imageBackend().explainDecodeFailure;
  return source?.kind === 'file' && explain ? explain(source.path, source.pixelLimit, said) : said;
}

function assemble(loaded: Loaded[], target?: Float32Array): Batch {
  const samples = loaded.map((l) => l.sample);
  const indices = Int32Array.from(loaded, (l) => l.index);
  const [c, h, w] = samples[0]!.shape;
  const size = c * h * w;
  const images = target && target.length === samples.length * size ? target : new Float32Array(samples.length * size);
  const labels = new Int32Array(samples.length);
  samples.forEach((sample, k) => {
    const [sc, sh, sw] = sample.shape;
    if (sc !== c || sh !== h || sw !== w) {
      throw new Error(
        `DataLoader: example ${indices[k]} is ${sc}x${sh}x${sw} but example ${indices[0]} is ${c}x${h}x${w}; ` +
          'add a resize and crop so every example has the same shape',
      );
    }
    const inPlace = sample.image.buffer === images.buffer && sample.image.byteOffset === images.byteOffset + k * size * 4;
    if (!inPlace) images.set(sample.image, k * size);
    labels[k] = sample.label;
  });
  return { images, labels, shape: [samples.length, c, h, w], indices };
}

/** FIFO limit on concurrent tasks, so earlier batches' examples are decoded first. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Runs `task` with every slot held: nothing else of this loader decodes meanwhile. Callers take turns. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.turn.then(async () => {
      for (let k = 0; k < this.limit; k++) await this.acquire();
      try {
        return await task();
      } finally {
        for (let k = 0; k < this.limit; k++) this.release();
      }
    });
    this.turn = run.catch(() => undefined);
    return run;
  }

  private turn: Promise<unknown> = Promise.resolve();

  private async acquire(): Promise<void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
  }

  private release(): void {
    const wake = this.waiting.shift();
    if (wake) wake();
    else this.active--;
  }
}
