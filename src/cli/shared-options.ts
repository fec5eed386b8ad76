/** Option parsing and data/model opening shared by train, eval, visualize, features and export. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { OptimizerConfig } from '../graph/optim.js';
import { ImageFolder } from '../data/image-folder.js';
import { DataLoader } from '../data/loader.js';
import { compose, evalTransforms, trainTransforms } from '../data/transforms.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import type { Command } from 'commander';
import { calibrationSamples } from '../data/calibration-sample.js';
import {
  CALIBRATION_METHOD, DEFAULT_AGREEMENT_IMAGES, DEFAULT_CALIBRATION_IMAGES, PRECISIONS, type Int8Options, type Int8Report, type Precision,
} from '../runtime/int8.js';

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

export const OPTIMIZER_KINDS = ['momentum', 'sgd', 'adam', 'adamw'] as const;

export function parseOptimizer(kind: string, momentum: number, weightDecay: number): OptimizerConfig {
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
export async function trainValFolders(dataDir: string): Promise<{ train: ImageFolder; val: ImageFolder }> {
  if (!(await isDirectory(dataDir))) throw new Error(`${dataDir}: no such folder (expected a dataset folder holding train/ and val/)`);
  const trainDir = path.join(dataDir, 'train');
  const valDir = path.join(dataDir, 'val');
  const [hasTrain, hasVal] = await Promise.all([isDirectory(trainDir), isDirectory(valDir)]);
  if (!hasTrain || !hasVal) {
    const missing = [!hasTrain && 'train/', !hasVal && 'val/'].filter(Boolean).join(' and ');
    throw new Error(`${dataDir}: expected train/ and val/ image folders inside, ${missing} missing`);
  }
  const [train, val] = await Promise.all([ImageFolder.open(trainDir), ImageFolder.open(valDir)]);
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

export function evalLoader(folder: ImageFolder, batchSize: number, imageSize: number, options: { shuffle?: boolean; seed?: number } = {}): DataLoader {
  return new DataLoader(folder, { batchSize, transforms: compose(evalTransforms(imageSize)), shuffle: options.shuffle ?? false, seed: options.seed });
}

export function trainLoader(folder: ImageFolder, batchSize: number, imageSize: number, options: { augment: boolean; seed: number }): DataLoader {
  const transforms = options.augment ? trainTransforms(imageSize) : evalTransforms(imageSize);
  return new DataLoader(folder, { batchSize, transforms: compose(transforms), shuffle: true, seed: options.seed });
}

/** Stage names accepted by `--from-stage`/`--stage`: `layer4` means its blocks, `layer3.5` one block. */
export function describeStages(names: readonly string[]): string {
  const groups = new Set(names.map((n) => n.split('.')[0]!));
  return [...groups].join(', ');
}

export interface PrecisionCliOptions {
  precision?: string;
  calibrationImages?: string;
  calibrateOn?: string;
}

/** --precision and the int8 calibration options, for every command that runs frozen layers. */
export function addPrecisionOptions(command: Command, calibrateOnDefault: string): Command {
  return command
    .option(
      '--precision <p>',
      `${PRECISIONS.join(' or ')}: int8 runs the frozen layers as an int8 QDQ graph (int8 per-channel weights, uint8 activations, ` +
        `static scales from ${CALIBRATION_METHOD} calibration on a sample of training images; cached)`,
      'float32',
    )
    .option('--calibration-images <n>', 'int8: size of the seeded random calibration sample', String(DEFAULT_CALIBRATION_IMAGES))
    .option('--calibrate-on <folder>', `int8: image folder to calibrate on (${calibrateOnDefault})`);
}

export function parsePrecision(value: string | undefined): Precision {
  if (value === undefined) return 'float32';
  if (!(PRECISIONS as readonly string[]).includes(value)) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, got "${value}"`);
  return value as Precision;
}

/**
 * Int8Options for `--precision int8` (undefined for float32): calibration on a seeded sample of `--calibrate-on`
 * (or the command's own training folder), agreement measured on `heldOut` or on other images of that folder.
 */
export async function int8Options(
  options: PrecisionCliOptions,
  context: { calibration?: ImageFolder; heldOut?: ImageFolder; imageSize: number; channels: number; seed: number; onReport?: (report: Int8Report) => void },
): Promise<Int8Options | undefined> {
  if (parsePrecision(options.precision) === 'float32') return undefined;
  const count = positiveInt(options.calibrationImages ?? String(DEFAULT_CALIBRATION_IMAGES), '--calibration-images');
  let folder = context.calibration;
  if (options.calibrateOn) {
    const trainDir = path.join(options.calibrateOn, 'train');
    folder = (await isDirectory(trainDir)) && (await isDirectory(path.join(options.calibrateOn, 'val'))) ? await ImageFolder.open(trainDir) : await singleFolder(options.calibrateOn);
  }
  if (!folder) throw new Error('--precision int8 needs --calibrate-on <folder>: training images to calibrate the int8 scales on');
  const transforms = compose(evalTransforms(context.imageSize), { channels: context.channels === 1 ? 1 : 3 });
  const samples = calibrationSamples(
    folder,
    { calibration: count, heldOut: DEFAULT_AGREEMENT_IMAGES, seed: context.seed, name: folder.root, transforms },
    context.heldOut ? { dataset: context.heldOut, name: context.heldOut.root } : undefined,
  );
  return { ...samples, onReport: context.onReport };
}
