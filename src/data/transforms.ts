import { centerCropBox, CropBox, randomResizedCropBox, shorterSideSize } from './crop-geometry.js';
import type { ImageSource } from './dataset.js';
import type { DecodedCache } from './decoded-cache.js';
import { mulberry32, Random } from './random.js';
import { imageBackend } from './image-backend.js';
import type { GeometricOp } from './sharp-stages.js';
import { enlarge, splitEnlargement } from './upsample.js';
import type { Interpolation } from './pil-resample.js';

/**
 * The tutorial's transforms (MindSpore's names, torchvision's numerics). Steps are plain data;
 * `compose` turns a list into a Pipeline that runs all geometry in sharp and the rest in one JS pass.
 * Sizes given as a pair are [height, width], as in torchvision and MindSpore.
 */
export type TransformStep =
  | { kind: 'decode' }
  | { kind: 'random-crop-decode-resize'; height: number; width: number; scale: [number, number]; ratio: [number, number] }
  | { kind: 'resize'; size: number | [number, number]; interpolation?: Interpolation }
  | { kind: 'center-crop'; height: number; width: number }
  | { kind: 'crop'; top: number; left: number; height: number; width: number }
  | { kind: 'random-horizontal-flip'; probability: number }
  | { kind: 'normalize'; mean: number[]; std: number[] }
  | { kind: 'hwc2chw' };

export const IMAGENET_MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255];
export const IMAGENET_STD_255 = [0.229 * 255, 0.224 * 255, 0.225 * 255];

export function Decode(): TransformStep {
  return { kind: 'decode' };
}

export function RandomCropDecodeResize(
  size: number | [number, number],
  options: { scale?: [number, number]; ratio?: [number, number] } = {},
): TransformStep {
  const [height, width] = pair(size, 'RandomCropDecodeResize');
  const scale = options.scale ?? [0.08, 1.0];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  if (!(scale[0] > 0 && scale[0] <= scale[1])) throw new Error(`RandomCropDecodeResize: bad scale [${scale.join(', ')}]`);
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new Error(`RandomCropDecodeResize: bad ratio [${ratio.join(', ')}]`);
  return { kind: 'random-crop-decode-resize', height, width, scale, ratio };
}

/**
 * An int resizes the shorter side to it (aspect kept); a pair is the exact [height, width].
 * Bilinear by default, as torchvision's Resize; 'bicubic' is PIL's (timm's weights ask for it).
 */
export function Resize(size: number | [number, number], interpolation: Interpolation = 'bilinear'): TransformStep {
  if (interpolation !== 'bilinear' && interpolation !== 'bicubic') throw new Error(`Resize: interpolation must be 'bilinear' or 'bicubic', got ${JSON.stringify(interpolation)}`);
  const step = { kind: 'resize', size: typeof size === 'number' ? pair(size, 'Resize')[0] : pair(size, 'Resize') } as const;
  return interpolation === 'bilinear' ? step : { ...step, interpolation };
}

export function CenterCrop(size: number | [number, number]): TransformStep {
  const [height, width] = pair(size, 'CenterCrop');
  return { kind: 'center-crop', height, width };
}

/** A fixed crop at [top, left] (MindSpore's Crop(coordinates, size)). */
export function Crop(coordinates: [number, number], size: number | [number, number]): TransformStep {
  const [height, width] = pair(size, 'Crop');
  const [top, left] = coordinates;
  if (!Number.isInteger(top) || !Number.isInteger(left) || top < 0 || left < 0) {
    throw new Error(`Crop: coordinates must be non-negative integers [top, left], got ${JSON.stringify(coordinates)}`);
  }
  return { kind: 'crop', top, left, height, width };
}

export function RandomHorizontalFlip(probability = 0.5): TransformStep {
  if (!(probability >= 0 && probability <= 1)) throw new Error(`RandomHorizontalFlip: probability ${probability} is not in [0, 1]`);
  return { kind: 'random-horizontal-flip', probability };
}

/** Per-channel mean and std on the 0-255 scale (an imported model may bring its own). */
export interface Normalization {
  mean: number[];
  std: number[];
}

export const IMAGENET_NORMALIZATION: Normalization = { mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255 };

/** Mean and std on the 0-255 scale of the decoded pixels, as in the tutorial. */
export function Normalize(mean: number[], std: number[]): TransformStep {
  if (mean.length === 0 || mean.length !== std.length) throw new Error('Normalize: mean and std need the same, non-zero length');
  if (std.some((s) => !(s > 0))) throw new Error(`Normalize: std must be positive, got [${std.join(', ')}]`);
  return { kind: 'normalize', mean: [...mean], std: [...std] };
}

export function HWC2CHW(): TransformStep {
  return { kind: 'hwc2chw' };
}

/** The tutorial's training transforms. */
export function trainTransforms(size = 224, normalize: Normalization = IMAGENET_NORMALIZATION): TransformStep[] {
  return [
    RandomCropDecodeResize(size, { scale: [0.08, 1.0], ratio: [0.75, 1.333] }),
    RandomHorizontalFlip(0.5),
    Normalize(normalize.mean, normalize.std),
    HWC2CHW(),
  ];
}

/**
 * The tutorial's evaluation transforms. `resize` is the shorter side before the crop: the tutorial's
 * size + 32, or floor(size / crop_pct) for timm weights, whose pretrained_cfg also names the interpolation.
 */
export function evalTransforms(size = 224, normalize: Normalization = IMAGENET_NORMALIZATION, resize = size + 32, interpolation: Interpolation = 'bilinear'): TransformStep[] {
  return [Decode(), Resize(resize, interpolation), CenterCrop(size), Normalize(normalize.mean, normalize.std), HWC2CHW()];
}

export interface TransformOutput {
  data: Float32Array;
  /** [C, H, W] after HWC2CHW, [H, W, C] without it. */
  shape: [number, number, number];
  layout: 'CHW' | 'HWC';
}

export interface PipelineOptions {
  /** Output channels: 3 converts everything to sRGB (PIL's convert('RGB')); 1 to luminance. */
  channels?: 1 | 3;
}

const GEOMETRIC = new Set<TransformStep['kind']>(['random-crop-decode-resize', 'resize', 'center-crop', 'crop']);

export class Pipeline {
  readonly steps: readonly TransformStep[];
  readonly channels: 1 | 3;
  private readonly normalize: { mean: number[]; std: number[] } | undefined;
  private readonly layout: 'CHW' | 'HWC';

  constructor(steps: readonly TransformStep[], options: PipelineOptions = {}) {
    this.steps = [...steps];
    this.channels = options.channels ?? 3;
    steps.forEach((step, i) => {
      if ((step.kind === 'decode' || step.kind === 'random-crop-decode-resize') && i !== 0) {
        throw new Error(`transforms: ${step.kind} decodes the image, so it must be the first step (it is step ${i + 1})`);
      }
    });
    const lastGeometric = Math.max(-1, ...steps.map((s, i) => (GEOMETRIC.has(s.kind) ? i : -1)));
    const normalizers = steps.filter((s) => s.kind === 'normalize');
    if (normalizers.length > 1) throw new Error('transforms: Normalize appears more than once');
    steps.forEach((step, i) => {
      if ((step.kind === 'normalize' || step.kind === 'hwc2chw') && i < lastGeometric) {
        throw new Error(`transforms: ${step.kind} must come after every crop and resize`);
      }
    });
    const normalize = normalizers[0];
    if (normalize && normalize.kind === 'normalize') {
      if (normalize.mean.length !== 1 && normalize.mean.length !== this.channels) {
        throw new Error(`transforms: Normalize has ${normalize.mean.length} means for ${this.channels}-channel output`);
      }
      this.normalize = { mean: normalize.mean, std: normalize.std };
    }
    this.layout = steps.some((s) => s.kind === 'hwc2chw') ? 'CHW' : 'HWC';
  }

  /** True when the pipeline draws random numbers, so results depend on the random source. */
  get isRandom(): boolean {
    return this.steps.some((s) => s.kind === 'random-crop-decode-resize' || s.kind === 'random-horizontal-flip');
  }

  /**
   * Runs the steps on one image. `random` drives the random steps in step order (crop first, then flip),
   * so one seed reproduces one augmentation.
   */
  /**
   * [C, H, W] of every output when the steps fix it (the last geometric step has an exact size and the
   * layout is CHW), so a loader can hand `apply` a slice of its batch; undefined otherwise.
   */
  get fixedShape(): [number, number, number] | undefined {
    if (this.layout !== 'CHW') return undefined;
    const last = [...this.steps].reverse().find((s) => GEOMETRIC.has(s.kind));
    if (!last) return undefined;
    switch (last.kind) {
      case 'random-crop-decode-resize':
      case 'center-crop':
      case 'crop':
        return [this.channels, last.height, last.width];
      case 'resize':
        return typeof last.size === 'number' ? undefined : [this.channels, last.size[0], last.size[1]];
      default:
        return undefined;
    }
  }

  /**
   * `into` (optional) receives the output instead of a new array; it must hold exactly one output.
   * `decoded` (optional) keeps decoded images across calls (a loader's cache); outputs are the same without it.
   */
  async apply(source: ImageSource, random: Random = mulberry32(0), into?: Float32Array, decoded?: DecodedCache): Promise<TransformOutput> {
    const needsGeometry = this.steps.some((s) => GEOMETRIC.has(s.kind));
    const start = needsGeometry ? await imageBackend().imageDimensions(source) : undefined;
    const ops: GeometricOp[] = [];
    let mirrored = false;
    let width = start?.width ?? 0;
    let height = start?.height ?? 0;
    const crop = (box: CropBox): void => {
      // Flips are deferred to the final JS pass, so a crop after a flip is taken from the mirrored side.
      const left = mirrored ? width - box.left - box.width : box.left;
      ops.push({ op: 'extract', left, top: box.top, width: box.width, height: box.height });
      width = box.width;
      height = box.height;
    };
    const resize = (w: number, h: number, interpolation?: Interpolation): void => {
      ops.push(interpolation ? { op: 'resize', width: w, height: h, interpolation } : { op: 'resize', width: w, height: h });
      width = w;
      height = h;
    };
    for (const step of this.steps) {
      switch (step.kind) {
        case 'random-crop-decode-resize':
          crop(randomResizedCropBox(width, height, step.scale, step.ratio, random));
          resize(step.width, step.height);
          break;
        case 'resize':
          if (typeof step.size === 'number') {
            const target = shorterSideSize(width, height, step.size);
            resize(target.width, target.height, step.interpolation);
          } else {
            resize(step.size[1], step.size[0], step.interpolation);
          }
          break;
        case 'center-crop':
          crop(centerCropBox(width, height, step.width, step.height));
          break;
        case 'crop':
          if (step.top + step.height > height || step.left + step.width > width) {
            throw new Error(`Crop ${step.width}x${step.height} at [${step.top}, ${step.left}] does not fit the ${width}x${height} image`);
          }
          crop(step);
          break;
        case 'random-horizontal-flip':
          if (random.next() < step.probability) mirrored = !mirrored;
          break;
        default:
          break;
      }
    }
    const { sharpOps, enlargement } = start ? splitEnlargement(ops, start) : { sharpOps: ops, enlargement: undefined };
    let pixels = await imageBackend().decodeAndResample(source, sharpOps, this.channels, start, decoded);
    if (enlargement) {
      if (pixels.width !== enlargement.inWidth || pixels.height !== enlargement.inHeight) {
        throw new Error(`transforms: expected ${enlargement.inWidth}x${enlargement.inHeight} pixels before enlarging, got ${pixels.width}x${pixels.height}`);
      }
      const data = enlarge(pixels.data, pixels.channels, enlargement);
      pixels = { data, width: enlargement.box.width, height: enlargement.box.height, channels: pixels.channels };
    }
    return {
      data: toFloat(pixels.data, pixels.width, pixels.height, pixels.channels, this.channels, mirrored, this.normalize, this.layout, into),
      shape: this.layout === 'CHW' ? [this.channels, pixels.height, pixels.width] : [pixels.height, pixels.width, this.channels],
      layout: this.layout,
    };
  }
}

export function compose(steps: readonly TransformStep[], options?: PipelineOptions): Pipeline {
  return new Pipeline(steps, options);
}

/** One transform on its own, e.g. `applyTransform(Resize(256), source)`. */
export function applyTransform(step: TransformStep, source: ImageSource, random?: Random): Promise<TransformOutput> {
  return new Pipeline([step]).apply(source, random);
}

/**
 * The single pass after sharp: optional mirror, channel replication, normalization and layout, from
 * 8-bit HWC into a fresh Float32Array or the caller's slice of a batch.
 */
function toFloat(
  raw: Uint8Array,
  width: number,
  height: number,
  inputChannels: number,
  channels: number,
  mirrored: boolean,
  normalize: { mean: number[]; std: number[] } | undefined,
  layout: 'CHW' | 'HWC',
  into: Float32Array | undefined,
): Float32Array {
  const plane = width * height;
  if (into && into.length !== plane * channels) {
    throw new Error(`transforms: the output is ${channels}x${height}x${width} but the buffer given holds ${into.length} values`);
  }
  const out = into ?? new Float32Array(plane * channels);
  if (inputChannels === 3 && channels === 3 && layout === 'CHW') {
    rgbToPlanes(raw, width, height, mirrored, normalize, out);
    return out;
  }
  for (let c = 0; c < channels; c++) {
    const sourceChannel = inputChannels === 1 ? 0 : c;
    const mean = normalize ? normalize.mean[normalize.mean.length === 1 ? 0 : c]! : 0;
    const scale = normalize ? 1 / normalize.std[normalize.std.length === 1 ? 0 : c]! : 1;
    for (let y = 0; y < height; y++) {
      const rowIn = y * width;
      for (let x = 0; x < width; x++) {
        const xIn = mirrored ? width - 1 - x : x;
        const value = (raw[(rowIn + xIn) * inputChannels + sourceChannel]! - mean) * scale;
        const p = rowIn + x;
        out[layout === 'CHW' ? c * plane + p : p * channels + c] = value;
      }
    }
  }
  return out;
}

/** The common case (RGB to normalized CHW) without per-pixel branches: it runs once per training image. */
function rgbToPlanes(
  raw: Uint8Array,
  width: number,
  height: number,
  mirrored: boolean,
  normalize: { mean: number[]; std: number[] } | undefined,
  out: Float32Array,
): void {
  const plane = width * height;
  const at = (list: number[] | undefined, c: number, fallback: number): number => (list ? list[list.length === 1 ? 0 : c]! : fallback);
  const m0 = at(normalize?.mean, 0, 0), m1 = at(normalize?.mean, 1, 0), m2 = at(normalize?.mean, 2, 0);
  const s0 = 1 / at(normalize?.std, 0, 1), s1 = 1 / at(normalize?.std, 1, 1), s2 = 1 / at(normalize?.std, 2, 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let i = (mirrored ? row + width - 1 : row) * 3;
    const step = mirrored ? -3 : 3;
    for (let p = row; p < row + width; p++, i += step) {
      out[p] = (raw[i]! - m0) * s0;
      out[plane + p] = (raw[i + 1]! - m1) * s1;
      out[2 * plane + p] = (raw[i + 2]! - m2) * s2;
    }
  }
}

function pair(size: number | [number, number], name: string): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new Error(`${name}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  }
  return [h, w];
}
