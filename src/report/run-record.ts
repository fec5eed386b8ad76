/**
 * The run directory: what a training run leaves behind for `tlkit report`.
 *
 * ```text
 * <run-dir>/
 *   run.json          RunRecord (below), UTF-8 JSON
 *   eval-images.f32   optional: evaluation images, raw little-endian float32, normalized CHW,
 *                     one after another, described by RunRecord.images
 *   preview.png       optional: training preview grid, already rendered (shown as is)
 *   predictions.png   optional: prediction grid, already rendered (else drawn from the images)
 * ```
 *
 * The trainer rewrites run.json after every epoch (atomically), so a dashboard can follow it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { formatShape } from '../tensor.js';

export const RUN_RECORD_FILE = 'run.json';
export const PREVIEW_PNG = 'preview.png';
export const PREDICTIONS_PNG = 'predictions.png';
export const DEFAULT_IMAGES_FILE = 'eval-images.f32';

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  /** Fraction in 0..1. */
  valAccuracy: number;
  /** Wall time of the whole epoch (training and validation), milliseconds. */
  epochMs: number;
  /** Mean wall time of one training step, milliseconds. */
  stepMs: number;
  /** Of epochMs, the time training steps waited for the loader's next batch, milliseconds. */
  dataWaitMs?: number;
  /** CPU time of the process during the epoch, all threads, milliseconds. */
  cpuMs?: number;
}

export interface ComparisonRow {
  /** E.g. "scratch", "fine-tune all", "frozen backbone". */
  method: string;
  /** Fraction in 0..1. */
  accuracy: number;
  /**
   * Marks the row the others are judged against (training from scratch). When no row sets it,
   * a row whose method contains "scratch" is the baseline.
   */
  isBaseline?: boolean;
}

export interface EvaluationRecord {
  /** True class per validation example. */
  labels: number[];
  /** Predicted class per example. */
  predicted: number[];
  /** Softmax output per example: one row of classNames.length probabilities. */
  probabilities: number[][];
}

export interface RunImages {
  /** File name inside the run directory: raw little-endian float32, normalized CHW images. */
  file: string;
  /** Image shape [C, H, W]. */
  shape: [number, number, number];
  /** How many images the file holds: the first `count` examples of the evaluation. */
  count: number;
  /** Normalization to undo, per channel on the 0-255 scale. */
  mean: number[];
  std: number[];
}

/** A data file the run left out (data/bad-images.ts's SkippedFile). */
export interface SkippedFileRecord {
  path: string;
  /** 'bad-image', 'too-many-pixels', 'link', 'not-an-image'. */
  kind: string;
  reason: string;
}

export interface RunRecord {
  /** Whatever the run was configured with; shown as a table. */
  config: Record<string, unknown>;
  classNames: string[];
  history: EpochRecord[];
  /** Files of the data folders that are not among the examples, found when scanning or when decoding. */
  skippedFiles?: SkippedFileRecord[];
  comparison?: ComparisonRow[];
  evaluation?: EvaluationRecord;
  images?: RunImages;
}

export async function writeRunRecord(runDir: string, record: RunRecord): Promise<void> {
  const problems = validateRunRecord(record);
  if (problems.length > 0) throw new Error(`refusing to write ${path.join(runDir, RUN_RECORD_FILE)}: ${problems[0]}`);
  await writeFileAtomic(path.join(runDir, RUN_RECORD_FILE), Buffer.from(JSON.stringify(record, null, 2) + '\n'));
}

export async function readRunRecord(runDir: string): Promise<RunRecord> {
  const file = path.join(runDir, RUN_RECORD_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: not found (is ${runDir} a run directory?)` : `${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const problems = validateRunRecord(parsed);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    throw new Error(`${file}: ${problems[0]}${more}`);
  }
  return parsed as RunRecord;
}

/** Writes the evaluation images beside run.json and returns the descriptor for RunRecord.images. */
export async function writeRunImages(
  runDir: string,
  images: readonly Float32Array[],
  shape: [number, number, number],
  normalization: { mean: number[]; std: number[] },
  file: string = DEFAULT_IMAGES_FILE,
): Promise<RunImages> {
  const size = shape[0] * shape[1] * shape[2];
  const bytes = Buffer.alloc(images.length * size * 4);
  images.forEach((image, n) => {
    if (image.length !== size) throw new Error(`image ${n} has ${image.length} values, but shape ${formatShape(shape)} needs ${size}`);
    for (let i = 0; i < size; i++) bytes.writeFloatLE(image[i]!, (n * size + i) * 4);
  });
  await writeFileAtomic(path.join(runDir, file), bytes);
  return { file, shape, count: images.length, mean: [...normalization.mean], std: [...normalization.std] };
}

export async function readRunImages(runDir: string, images: RunImages): Promise<Float32Array[]> {
  const file = path.join(runDir, images.file);
  const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file}: ${error.code === 'ENOENT' ? 'not found, but run.json lists it in images.file' : error.message}`);
  });
  const size = images.shape[0] * images.shape[1] * images.shape[2];
  if (bytes.length !== images.count * size * 4) {
    throw new Error(`${file}: ${bytes.length} bytes, but images.count ${images.count} of shape ${formatShape(images.shape)} as float32 needs ${images.count * size * 4}`);
  }
  const result: Float32Array[] = [];
  for (let n = 0; n < images.count; n++) {
    const image = new Float32Array(size);
    for (let i = 0; i < size; i++) image[i] = bytes.readFloatLE((n * size + i) * 4);
    result.push(image);
  }
  return result;
}

/** Every problem found, each naming the field; empty when the record is valid. */
export function validateRunRecord(value: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(value)) return ['the top level must be a JSON object'];
  if (!isObject(value.config)) problems.push('config must be an object');

  const classNames = value.classNames;
  let classCount = 0;
  if (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((n) => typeof n === 'string')) {
    problems.push('classNames must be a non-empty array of strings');
  } else {
    classCount = classNames.length;
  }

  if (!Array.isArray(value.history)) {
    problems.push('history must be an array (empty before the first epoch)');
  } else {
    value.history.forEach((entry: unknown, i: number) => {
      const where = `history[${i}]`;
      if (!isObject(entry)) return void problems.push(`${where} must be an object`);
      requireNumber(problems, entry, where, 'epoch');
      requireNumber(problems, entry, where, 'trainLoss');
      requireNumber(problems, entry, where, 'valAccuracy');
      requireNumber(problems, entry, where, 'epochMs');
      requireNumber(problems, entry, where, 'stepMs');
      optionalNumber(problems, entry, where, 'trainAccuracy');
      optionalNumber(problems, entry, where, 'valLoss');
      optionalNumber(problems, entry, where, 'dataWaitMs');
      optionalNumber(problems, entry, where, 'cpuMs');
    });
  }

  if (value.comparison !== undefined) {
    if (!Array.isArray(value.comparison)) {
      problems.push('comparison must be an array of {method, accuracy}');
    } else {
      value.comparison.forEach((row: unknown, i: number) => {
        const where = `comparison[${i}]`;
        if (!isObject(row)) return void problems.push(`${where} must be an object`);
        if (typeof row.method !== 'string') problems.push(`${where}.method must be a string`);
        requireNumber(problems, row, where, 'accuracy');
        if (row.isBaseline !== undefined && typeof row.isBaseline !== 'boolean') problems.push(`${where}.isBaseline must be true or false`);
      });
    }
  }

  if (value.skippedFiles !== undefined) {
    if (!Array.isArray(value.skippedFiles)) problems.push('skippedFiles must be an array of {path, kind, reason}');
    else {
      const bad = value.skippedFiles.findIndex((f: unknown) => !isObject(f) || typeof f.path !== 'string' || typeof f.kind !== 'string' || typeof f.reason !== 'string');
      if (bad >= 0) problems.push(`skippedFiles[${bad}] must be {path, kind, reason}, all strings`);
    }
  }

  let evaluationCount: number | undefined;
  if (value.evaluation !== undefined) {
    evaluationCount = validateEvaluation(problems, value.evaluation, classCount);
  }

  if (value.images !== undefined) validateImages(problems, value.images, evaluationCount);
  return problems;
}

function validateEvaluation(problems: string[], evaluation: unknown, classCount: number): number | undefined {
  if (!isObject(evaluation)) {
    problems.push('evaluation must be an object with labels, predicted and probabilities');
    return undefined;
  }
  const { labels, predicted, probabilities } = evaluation;
  const labelProblem = (name: string, list: unknown): boolean => {
    if (!Array.isArray(list)) return problems.push(`evaluation.${name} must be an array of class indices`) > 0;
    const bad = list.findIndex((v) => !Number.isInteger(v) || (classCount > 0 && (v < 0 || v >= classCount)));
    if (bad >= 0) return problems.push(`evaluation.${name}[${bad}] is ${JSON.stringify(list[bad])}, not a class index in 0..${classCount - 1}`) > 0;
    return false;
  };
  const badLabels = labelProblem('labels', labels);
  const badPredicted = labelProblem('predicted', predicted);
  if (!Array.isArray(probabilities)) {
    problems.push('evaluation.probabilities must be an array of rows');
    return undefined;
  }
  const badRow = probabilities.findIndex(
    (row) => !Array.isArray(row) || (classCount > 0 && row.length !== classCount) || !row.every((p) => typeof p === 'number' && Number.isFinite(p)),
  );
  if (badRow >= 0) problems.push(`evaluation.probabilities[${badRow}] must be ${classCount} finite numbers (one per class)`);
  if (badLabels || badPredicted) return undefined;
  const lengths = [(labels as unknown[]).length, (predicted as unknown[]).length, probabilities.length];
  if (lengths[0] !== lengths[1] || lengths[0] !== lengths[2]) {
    problems.push(`evaluation.labels, .predicted and .probabilities must have the same length, got ${lengths.join(', ')}`);
  }
  return lengths[0];
}

function validateImages(problems: string[], images: unknown, evaluationCount: number | undefined): void {
  if (!isObject(images)) return void problems.push('images must be an object {file, shape, count, mean, std}');
  if (typeof images.file !== 'string' || images.file === '' || path.isAbsolute(images.file) || images.file.split(/[\\/]/).includes('..')) {
    problems.push('images.file must be a file name inside the run directory');
  }
  const shape = images.shape;
  const shapeOk = Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0) && (shape[0] === 1 || shape[0] === 3);
  if (!shapeOk) problems.push('images.shape must be [C, H, W] with C 1 or 3');
  if (!Number.isInteger(images.count) || (images.count as number) < 0) problems.push('images.count must be a non-negative integer');
  else if (evaluationCount !== undefined && (images.count as number) > evaluationCount) {
    problems.push(`images.count is ${images.count} but the evaluation has only ${evaluationCount} examples`);
  }
  for (const key of ['mean', 'std'] as const) {
    const list = images[key];
    const channels = shapeOk ? (shape as number[])[0]! : undefined;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'number' && Number.isFinite(v)) || (channels !== undefined && list.length !== channels && list.length !== 1)) {
      problems.push(`images.${key} must be ${channels ?? 'C'} numbers on the 0-255 scale`);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireNumber(problems: string[], entry: Record<string, unknown>, where: string, key: string): void {
  if (typeof entry[key] !== 'number' || !Number.isFinite(entry[key])) {
    const shown = typeof entry[key] === 'number' ? String(entry[key]) : JSON.stringify(entry[key]);
    problems.push(`${where}.${key} ${key in entry ? `is ${shown}, must be a finite number` : 'is missing'}`);
  }
}

function optionalNumber(problems: string[], entry: Record<string, unknown>, where: string, key: string): void {
  if (entry[key] !== undefined) requireNumber(problems, entry, where, key);
}
