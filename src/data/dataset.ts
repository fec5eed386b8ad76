/** One decoded example: a CHW float image (0-255 scale unless transforms normalized it) and its label. */
export interface Sample {
  image: Float32Array;
  shape: [number, number, number];
  label: number;
}

/**
 * Where the pixels of one example come from, before any transform: an image file, encoded bytes,
 * or already-decoded 8-bit HWC pixels (e.g. a Fashion-MNIST digit).
 * Known dimensions (after EXIF orientation) save a header read when transforms need them.
 * `pixelLimit` (width x height, 0 = none) replaces sharp's default limit when the file is decoded.
 */
export type ImageSource =
  | { kind: 'file'; path: string; width?: number; height?: number; hasAlpha?: boolean; pixelLimit?: number; format?: string }
  | { kind: 'encoded'; data: Uint8Array; name?: string }
  | { kind: 'pixels'; data: Uint8Array; width: number; height: number; channels: 1 | 3 };

/** What the loader and the trainer need from any dataset. */
export interface Dataset {
  readonly length: number;
  readonly classNames: readonly string[];
  labelAt(index: number): number;
  /** The example without augmentation: the whole image as CHW float32 on the 0-255 scale. */
  get(index: number): Promise<Sample>;
}

/** A dataset whose examples transforms can start from (decode, crop, resize...). */
export interface SourceDataset extends Dataset {
  sourceAt(index: number): ImageSource;
}

export function isSourceDataset(dataset: Dataset): dataset is SourceDataset {
  return typeof (dataset as Partial<SourceDataset>).sourceAt === 'function';
}

export function describeSource(source: ImageSource): string {
  switch (source.kind) {
    case 'file': return source.path;
    case 'encoded': return source.name ?? 'encoded image buffer';
    case 'pixels': return `${source.width}x${source.height}x${source.channels} pixel buffer`;
  }
}

export interface InMemoryImages {
  /** N x C x H x W; 8-bit pixels or float values on the 0-255 scale. */
  images: Uint8Array | Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  classNames: readonly string[];
}

/** Decoded images held in one array, such as Fashion-MNIST loaded from IDX files. */
export class InMemoryDataset implements SourceDataset {
  readonly images: Uint8Array | Float32Array;
  readonly shape: [number, number, number, number];
  readonly labels: Int32Array;
  readonly classNames: readonly string[];

  constructor(contents: InMemoryImages) {
    const [n, c, h, w] = contents.shape;
    if (contents.images.length !== n * c * h * w) {
      throw new Error(`in-memory dataset: ${contents.images.length} pixel values do not fill shape [${contents.shape.join(', ')}]`);
    }
    if (contents.labels.length !== n) {
      throw new Error(`in-memory dataset: ${contents.labels.length} labels for ${n} images`);
    }
    if (c !== 1 && c !== 3) throw new Error(`in-memory dataset: ${c} channels; 1 or 3 are supported`);
    for (let i = 0; i < n; i++) {
      const label = contents.labels[i]!;
      if (label < 0 || label >= contents.classNames.length) {
        throw new Error(`in-memory dataset: label ${label} of image ${i} is outside 0..${contents.classNames.length - 1}`);
      }
    }
    this.images = contents.images;
    this.shape = contents.shape;
    this.labels = contents.labels;
    this.classNames = contents.classNames;
  }

  get length(): number {
    return this.shape[0];
  }

  labelAt(index: number): number {
    return this.labels[checkIndex(index, this.length)]!;
  }

  async get(index: number): Promise<Sample> {
    const [, c, h, w] = this.shape;
    const size = c * h * w;
    const start = checkIndex(index, this.length) * size;
    return { image: Float32Array.from(this.images.subarray(start, start + size)), shape: [c, h, w], label: this.labels[index]! };
  }

  sourceAt(index: number): ImageSource {
    const [, c, h, w] = this.shape;
    const size = c * h * w;
    const start = checkIndex(index, this.length) * size;
    const chw = this.images.subarray(start, start + size);
    const pixels = chw instanceof Uint8Array && c === 1 ? chw : chwToHwcBytes(chw, c, h * w);
    return { kind: 'pixels', data: pixels, width: w, height: h, channels: c as 1 | 3 };
  }
}

function chwToHwcBytes(chw: Uint8Array | Float32Array, channels: number, plane: number): Uint8Array {
  // A clamped array rounds and clamps float values to 0..255 (a plain Uint8Array would wrap them).
  const out = new Uint8ClampedArray(chw.length);
  for (let ch = 0; ch < channels; ch++) {
    for (let p = 0; p < plane; p++) out[p * channels + ch] = chw[ch * plane + p]!;
  }
  return new Uint8Array(out.buffer);
}

export function checkIndex(index: number, length: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`index ${index} is outside the dataset (0..${length - 1})`);
  }
  return index;
}

/**
 * A subset of another dataset, optionally relabelled; what the splits return.
 * `originalLabels[k]` is the base dataset's label of this view's class k.
 */
export class DatasetView implements SourceDataset {
  readonly classNames: readonly string[];
  readonly originalLabels: readonly number[];
  private readonly labelMap: Map<number, number> | undefined;

  constructor(
    readonly base: Dataset,
    readonly indices: Int32Array,
    classes?: { originalLabels: readonly number[] },
  ) {
    for (const i of indices) checkIndex(i, base.length);
    if (classes) {
      this.originalLabels = [...classes.originalLabels];
      this.labelMap = new Map(this.originalLabels.map((original, k) => [original, k]));
      this.classNames = this.originalLabels.map((original) => base.classNames[original]!);
      for (const i of indices) {
        if (!this.labelMap.has(base.labelAt(i))) {
          throw new Error(`dataset view: item ${i} has class ${base.labelAt(i)}, which is not among the view's classes`);
        }
      }
    } else {
      this.originalLabels = base.classNames.map((_, k) => k);
      this.labelMap = undefined;
      this.classNames = base.classNames;
    }
  }

  get length(): number {
    return this.indices.length;
  }

  labelAt(index: number): number {
    const original = this.base.labelAt(this.indices[checkIndex(index, this.length)]!);
    return this.labelMap ? this.labelMap.get(original)! : original;
  }

  async get(index: number): Promise<Sample> {
    const sample = await this.base.get(this.indices[checkIndex(index, this.length)]!);
    return { ...sample, label: this.labelAt(index) };
  }

  sourceAt(index: number): ImageSource {
    if (!isSourceDataset(this.base)) throw new Error('dataset view: the base dataset has no image sources for transforms');
    return this.base.sourceAt(this.indices[checkIndex(index, this.length)]!);
  }
}
