/**
 * Every option that more than one command takes, defined once as a commander Option that parses
 * its value (numbers arrive as numbers) and lists its choices in --help; plus the data/model
 * opening shared by train, eval, visualize, features and export.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import type { OptimizerConfig } from '../graph/optim.js';
import { BadDataError, DEFAULT_PIXEL_LIMIT, SkippedFiles } from '../data/bad-images.js';
import { ImageFolder, type ImageFolderOptions } from '../data/image-folder.js';
import type { SourceDataset } from '../data/dataset.js';
import type { DecodedCache } from '../data/decoded-cache.js';
import { DataLoader, makeDecodedCache } from '../data/loader.js';
import { compose, evalTransforms, trainTransforms, type Normalization } from '../data/transforms.js';
import type { Interpolation } from '../data/pil-resample.js';
import { MODEL_NAMES } from '../models/registry.js';
import { parseChannelValues } from '../onnx-import/network.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import { calibrationSamples } from '../data/calibration-sample.js';
import { CALIBRATION_METHOD, DEFAULT_AGREEMENT_IMAGES, DEFAULT_CALIBRATION_IMAGES, Int8Builds, type Int8Options, type Int8Report } from '../runtime/int8.js';

export function positiveInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

export function positiveNumber(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${value}"`);
  return n;
}

export function nonNegativeNumber(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number >= 0, got "${value}"`);
  return n;
}

export function optionalPositiveInt(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : positiveInt(value, flag);
}

export function parsePadMode(value: string | undefined): PadMode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'same' && value !== 'pad') throw new Error(`--pad-mode must be same or pad, got "${value}"`);
  return value;
}

/** The long flag of an Option's flags string: '--batch-size <n>' -> '--batch-size'. */
function longFlag(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags;
}

/**
 * An option whose value `parse` checks and converts. Its errors are plain Errors, so they reach
 * the user as one line (`tlkit: --epochs must be a positive integer, got "x"`) like every other.
 */
export function parsedOption<T>(flags: string, description: string, parse: (value: string, flag: string) => T, defaultValue?: T): Option {
  const option = new Option(flags, description).argParser((value: string) => parse(value, longFlag(flags)));
  return defaultValue === undefined ? option : option.default(defaultValue);
}

export const intOption = (flags: string, description: string, defaultValue?: number) => parsedOption(flags, description, positiveInt, defaultValue);
export const countOption = (flags: string, description: string, defaultValue?: number) => parsedOption(flags, description, nonNegativeInt, defaultValue);
export const rateOption = (flags: string, description: string, defaultValue?: number) => parsedOption(flags, description, positiveNumber, defaultValue);
export const amountOption = (flags: string, description: string, defaultValue?: number) => parsedOption(flags, description, nonNegativeNumber, defaultValue);

/** A library parser whose errors get the flag in front (library messages never name flags). */
export function flagged<T>(parse: (value: string) => T): (value: string, flag: string) => T {
  return (value, flag) => {
    try {
      return parse(value);
    } catch (error) {
      throw new Error(`${flag}: ${(error as Error).message}`);
    }
  };
}

/** An option with a closed set of values, listed in --help, refused with the allowed ones named. */
export function choiceOption<C extends string>(flags: string, description: string, choices: readonly C[], defaultValue?: C): Option {
  const option = new Option(flags, description).choices(choices).argParser((value: string) => {
    if (!(choices as readonly string[]).includes(value)) throw new Error(`${longFlag(flags)} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as C;
  });
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** A registry architecture, or an ONNX file to use as the backbone. */
export function parseModel(value: string): string {
  if (value.toLowerCase().endsWith('.onnx') || (MODEL_NAMES as readonly string[]).includes(value)) return value;
  throw new Error(`unknown model "${value}"; known models: ${MODEL_NAMES.join(', ')} (or a path to an .onnx file)`);
}

export function modelOption(defaultValue = 'resnet50'): Option {
  const option = new Option('--model <name>', 'architecture from the model registry, or a model.onnx file').argParser(parseModel).default(defaultValue);
  // Listed in --help without restricting values to them: an .onnx path is allowed too.
  option.argChoices = [...MODEL_NAMES, '<file>.onnx'];
  return option;
}

export function weightsOption(description = 'weights: best.ckpt from tlkit train, a .safetensors file, or a registry name such as resnet50-mindspore', required = false): Option {
  const option = new Option('--weights <file>', description);
  return required ? option.makeOptionMandatory() : option;
}

export const padModeOption = (description = "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming") =>
  choiceOption('--pad-mode <mode>', description, ['same', 'pad'] as const);
/** --mean / --std for an .onnx --model, on the 0-255 scale (every command that reads images from one takes both). */
export function onnxNormalizationOption(which: 'mean' | 'std'): Option {
  return parsedOption(`--${which} <list>`, `with an .onnx --model: per-channel ${which} on the 0-255 scale (default: from the file's metadata, else ImageNet's)`, parseChannelValues);
}

export const imageSizeOption = (description = 'crop size (images are resized to size+32, then center-cropped)', defaultValue = 224) => intOption('--image-size <n>', description, defaultValue);
export const batchSizeOption = (description = 'images per run', defaultValue = 16) => intOption('--batch-size <n>', description, defaultValue);
export const seedOption = (description = 'seed', defaultValue = 0) => countOption('--seed <n>', description, defaultValue);
export const numClassesOption = () => intOption('--num-classes <n>', 'classes of the head (default: from the weights)');

export const PRECISIONS = ['float32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];
export const precisionOption = (
  description = 'numeric precision of the frozen (inference) parts: float32, or int8 (an int8 QDQ graph: int8 per-channel weights, uint8 activations, ' +
    `static scales from ${CALIBRATION_METHOD} calibration on a seeded sample of training images, cached)`,
) => choiceOption('--precision <p>', description, PRECISIONS, 'float32');
export const calibrationImagesOption = () => intOption('--calibration-images <n>', 'int8: size of the seeded random calibration sample', DEFAULT_CALIBRATION_IMAGES);
export const calibrateOnOption = (where: string) => new Option('--calibrate-on <folder>', `int8: image folder to calibrate on (${where})`);

/** Until int8 is wired into a command, asking for it there is an error, not a silent float32 run. */
export function requireFloat32(precision: Precision | undefined, command: string): void {
  if (precision !== undefined && precision !== 'float32') throw new Error(`--precision ${precision} is not supported by tlkit ${command} yet; use --precision float32`);
}

export const OPTIMIZER_KINDS = ['momentum', 'sgd', 'adam', 'adamw'] as const;
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];

export function parseOptimizer(kind: OptimizerKind, momentum: number, weightDecay: number): OptimizerConfig {
  switch (kind) {
    case 'momentum':
      return { kind: 'momentum', momentum, weightDecay };
    case 'sgd':
      return momentum > 0 ? { kind: 'momentum', momentum, weightDecay } : { kind: 'sgd', weightDecay };
    case 'adam':
    case 'adamw':
      return { kind, weightDecay };
    default:
      throw new Error(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${kind}"`);
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  return fs.stat(dir).then((s) => s.isDirectory(), () => false);
}

/** A dataset root with train/ and val/ image folders, like the tutorial's datasets-Canidae/data/Canidae. */
export async function trainValFolders(dataDir: string, folderOptions: ImageFolderOptions = {}): Promise<{ train: ImageFolder; val: ImageFolder }> {
  if (!(await isDirectory(dataDir))) throw new Error(`${dataDir}: no such folder (expected a dataset folder holding train/ and val/)`);
  const trainDir = path.join(dataDir, 'train');
  const valDir = path.join(dataDir, 'val');
  const [hasTrain, hasVal] = await Promise.all([isDirectory(trainDir), isDirectory(valDir)]);
  if (!hasTrain || !hasVal) {
    const missing = [!hasTrain && 'train/', !hasVal && 'val/'].filter(Boolean).join(' and ');
    throw new Error(`${dataDir}: expected train/ and val/ image folders inside, ${missing} missing`);
  }
  // Both scanned before either error is reported, so the one named is train/'s when both have one. One after
  // the other: a scan checks its failures again alone for their own messages (libvips has one error buffer).
  const [opened, openedVal] = [
    ...(await Promise.allSettled([ImageFolder.open(trainDir, folderOptions)])),
    ...(await Promise.allSettled([ImageFolder.open(valDir, folderOptions)])),
  ];
  if (opened.status === 'rejected' && openedVal.status === 'rejected' && opened.reason instanceof BadDataError && openedVal.reason instanceof BadDataError) {
    throw new BadDataError([...opened.reason.files, ...openedVal.reason.files]);
  }
  if (opened.status === 'rejected') throw opened.reason;
  if (openedVal.status === 'rejected') throw openedVal.reason;
  const [train, val] = [opened.value, openedVal.value];
  if (train.classNames.join('\n') !== val.classNames.join('\n')) {
    throw new Error(`${dataDir}: train/ has classes [${train.classNames.join(', ')}] but val/ has [${val.classNames.join(', ')}]`);
  }
  return { train, val };
}

/** One image folder; given a dataset root with val/ inside, its val/ split. */
export async function evaluationFolder(dir: string): Promise<ImageFolder> {
  if (!(await isDirectory(dir))) throw new Error(`${dir}: no such folder (expected an image folder with one sub-folder per class, or a dataset folder with val/)`);
  const val = path.join(dir, 'val');
  if (await isDirectory(val)) return ImageFolder.open(val);
  return singleFolder(dir);
}

/** An image folder of classes; refuses a dataset root (train/ + val/), whose splits would be taken for classes. */
export async function singleFolder(dir: string): Promise<ImageFolder> {
  if (!(await isDirectory(dir))) throw new Error(`${dir}: no such folder (expected an image folder with one sub-folder per class)`);
  if ((await isDirectory(path.join(dir, 'train'))) && (await isDirectory(path.join(dir, 'val')))) {
    throw new Error(`${dir} holds train/ and val/: give one of them (e.g. ${path.join(dir, 'train')})`);
  }
  return ImageFolder.open(dir);
}

/** How a command's loaders treat images that fail to decode; `strict` fails instead of skipping. */
export interface LoaderDataHandling {
  skipped?: SkippedFiles;
  strict?: boolean;
  /**
   * One cache shared by a run's loaders, or 0: off (a loader read once: filling the cache costs ~0.7 CPU ms more per
   * web photo in that pass); default: each loader its own (DataLoader's default).
   */
  decodedCache?: DecodedCache | 0;
}

/** Evaluation drops an image that fails to decode, so no example counts twice. */
export function evalLoader(folder: SourceDataset, batchSize: number, imageSize: number, options: { shuffle?: boolean; seed?: number; normalize?: Normalization; resize?: number; interpolation?: Interpolation } & LoaderDataHandling = {}): DataLoader {
  return new DataLoader(folder, {
    batchSize, transforms: compose(evalTransforms(imageSize, options.normalize, options.resize, options.interpolation)), shuffle: options.shuffle ?? false, seed: options.seed,
    skipped: options.skipped, onBadImage: options.strict ? 'fail' : 'drop', decodedCache: options.decodedCache,
  });
}

export function trainLoader(folder: ImageFolder, batchSize: number, imageSize: number, options: { augment: boolean; seed: number; normalize?: Normalization } & LoaderDataHandling): DataLoader {
  const transforms = options.augment ? trainTransforms(imageSize, options.normalize) : evalTransforms(imageSize, options.normalize);
  return new DataLoader(folder, {
    batchSize, transforms: compose(transforms), shuffle: true, seed: options.seed, skipped: options.skipped, onBadImage: options.strict ? 'fail' : 'replace',
    decodedCache: options.decodedCache,
  });
}

export interface DataFlags {
  strictData?: boolean;
  pixelLimit?: number;
  decodedCacheMb?: number;
}

/** --strict-data, --decoded-cache-mb (the commands that train) and --pixel-limit, for the commands that read image folders. */
export function addDataFlags(command: Command, { strict = true }: { strict?: boolean } = {}): Command {
  if (strict) {
    command.option('--strict-data', 'stop before training when any image fails to decode fully (default: skip bad images, warn once each, list them in run.json)');
    command.addOption(countOption('--decoded-cache-mb <n>', 'MiB of decoded web-size images the loaders keep in memory, so epochs after the first decode no JPEG (default: a quarter of the free memory, at most 1024); 0 = off'));
  }
  return command.addOption(countOption('--pixel-limit <n>', 'images with more pixels (width x height) than this are refused as decompression bombs (train skips them, verify lists them); 0 = no limit', DEFAULT_PIXEL_LIMIT));
}

/** The decoded-image cache a run's loaders share, from --decoded-cache-mb (0 when off). */
export function decodedCacheOf(flags: DataFlags): DecodedCache | 0 {
  return makeDecodedCache(flags.decodedCacheMb === undefined ? undefined : flags.decodedCacheMb * 2 ** 20) ?? 0;
}

/** ImageFolder options from the flags; skipped files go to `skipped` (warned once each). */
export function imageFolderOptions(flags: DataFlags, skipped: SkippedFiles): ImageFolderOptions {
  return {
    pixelLimit: flags.pixelLimit, onWarning: (file) => skipped.add(file),
    ...(flags.strictData ? { verify: 'decode' as const, onCorrupt: 'fail' as const } : {}),
  };
}

/** --strict-data's error: the library's message with what to do next. */
export function strictDataError(error: unknown, dataDir: string): unknown {
  if (!(error instanceof BadDataError)) return error;
  return new Error(`--strict-data: ${error.message}; nothing was trained (\`tlkit verify ${dataDir}\` lists every bad file)`);
}

/** Stage names accepted by `--from-stage`/`--stage`: `layer4` means its blocks, `layer3.5` one block. */
export function describeStages(names: readonly string[]): string {
  const groups = new Set(names.map((n) => n.split('.')[0]!));
  return [...groups].join(', ');
}

export interface PrecisionCliOptions {
  precision?: Precision;
  calibrationImages?: number;
  calibrateOn?: string;
}

/**
 * Int8Options for `--precision int8` (undefined for float32): calibration on a seeded sample of `--calibrate-on`
 * (or the command's own training folder), agreement measured on `heldOut` or on other images of that folder.
 */
export async function int8Options(
  options: PrecisionCliOptions,
  context: { calibration?: ImageFolder; heldOut?: ImageFolder; imageSize: number; channels: number; seed: number; normalize?: Normalization; onReport?: (report: Int8Report) => void },
): Promise<Int8Options | undefined> {
  if ((options.precision ?? 'float32') === 'float32') return undefined;
  const count = options.calibrationImages ?? DEFAULT_CALIBRATION_IMAGES;
  let folder = context.calibration;
  if (options.calibrateOn) {
    const trainDir = path.join(options.calibrateOn, 'train');
    folder = (await isDirectory(trainDir)) && (await isDirectory(path.join(options.calibrateOn, 'val'))) ? await ImageFolder.open(trainDir) : await singleFolder(options.calibrateOn);
  }
  if (!folder) throw new Error('--precision int8 needs --calibrate-on <folder>: training images to calibrate the int8 scales on');
  const transforms = compose(evalTransforms(context.imageSize, context.normalize), { channels: context.channels === 1 ? 1 : 3 });
  const samples = calibrationSamples(
    folder,
    { calibration: count, heldOut: DEFAULT_AGREEMENT_IMAGES, seed: context.seed, name: folder.root, transforms },
    context.heldOut ? { dataset: context.heldOut, name: context.heldOut.root } : undefined,
  );
  return { ...samples, onReport: context.onReport, builds: new Int8Builds() };
}
