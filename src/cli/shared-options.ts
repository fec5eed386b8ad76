/** Option parsing and data/model opening shared by train, eval, visualize, features and export. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { OptimizerConfig } from '../graph/optim.js';
import { ImageFolder } from '../data/image-folder.js';
import { DataLoader } from '../data/loader.js';
import { compose, evalTransforms, trainTransforms, type Normalization } from '../data/transforms.js';
import type { PadMode } from '../nn/layers/conv2d.js';

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

export function evalLoader(folder: ImageFolder, batchSize: number, imageSize: number, options: { shuffle?: boolean; seed?: number; normalize?: Normalization } = {}): DataLoader {
  return new DataLoader(folder, { batchSize, transforms: compose(evalTransforms(imageSize, options.normalize)), shuffle: options.shuffle ?? false, seed: options.seed });
}

export function trainLoader(folder: ImageFolder, batchSize: number, imageSize: number, options: { augment: boolean; seed: number; normalize?: Normalization }): DataLoader {
  const transforms = options.augment ? trainTransforms(imageSize, options.normalize) : evalTransforms(imageSize, options.normalize);
  return new DataLoader(folder, { batchSize, transforms: compose(transforms), shuffle: true, seed: options.seed });
}

/** Stage names accepted by `--from-stage`/`--stage`: `layer4` means its blocks, `layer3.5` one block. */
export function describeStages(names: readonly string[]): string {
  const groups = new Set(names.map((n) => n.split('.')[0]!));
  return [...groups].join(', ');
}
