/**
 * Inference over a loader, written once: evaluation, fit's validation, feature extraction,
 * predict and visualize all run their batches through `inferBatches`.
 */
import type { Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { InferenceRunner } from '../runtime/inference.js';
import type { Stages } from '../runtime/compile.js';
import type { Int8Options } from '../runtime/int8.js';
import { numel } from '../tensor.js';
import { EvaluationAccumulator, type Evaluation } from './evaluate.js';

/** A batch as inference needs it: N samples, their labels and dataset positions. */
export type InputBatch = Pick<Batch, 'images' | 'labels' | 'indices'>;

/** Anything with batches for one pass: a DataLoader, or the cached outputs of a frozen prefix. */
export interface InputStream {
  readonly steps: number;
  epoch(epoch: number): AsyncIterable<InputBatch>;
}

/** Maps a batch of inputs to outputs: an InferenceRunner, or test-time augmentation around one. */
export interface BatchRunner {
  run(input: Float32Array, batch: number): Promise<{ data: Float32Array; shape: number[] }>;
}

export interface InferredBatch {
  batch: InputBatch;
  outputs: Float32Array;
  /** [N, ...] of the outputs. */
  shape: number[];
}

/** Runs every batch of one pass through `runner`, in loader order; `limit` stops after that many samples. */
export async function* inferBatches(runner: BatchRunner, stream: InputStream, options: { limit?: number } = {}): AsyncGenerator<InferredBatch> {
  let seen = 0;
  for await (const batch of stream.epoch(0)) {
    const out = await runner.run(batch.images, batch.labels.length);
    yield { batch, outputs: out.data, shape: out.shape };
    seen += batch.labels.length;
    if (seen >= (options.limit ?? Infinity)) return;
  }
}

/** An inference session over a network (or some of its stages) for the duration of `work`. */
/** How a runner is made: `InferenceRunner.create`, or e.g. the session cache's `createCachedInferenceRunner`. */
export type RunnerFactory = (net: Module | Stages, inputShape: readonly number[], options: { until?: string }) => Promise<InferenceRunner>;

/** With `int8`, the runner is an int8 QDQ graph (InferenceRunner.create; the session cache holds float32 graphs only). */
export async function withRunner<T>(net: Module | Stages, inputShape: readonly number[], work: (runner: InferenceRunner) => Promise<T>, options: { until?: string; create?: RunnerFactory; int8?: Int8Options } = {}): Promise<T> {
  const runner = options.int8
    ? await InferenceRunner.create(net, inputShape, { until: options.until, int8: options.int8 })
    : await (options.create ?? InferenceRunner.create)(net, inputShape, { until: options.until });
  try {
    return await work(runner);
  } finally {
    await runner.release();
  }
}

export interface StreamEvaluation {
  evaluation: Evaluation;
  /** The first `keepImages` input images (normalized CHW), in evaluation order, for prediction grids. */
  images: Float32Array[];
}

/** Accuracy, mean cross-entropy and per-sample predictions of a classifier over one pass. */
export async function evaluateStream(runner: BatchRunner, stream: InputStream, options: { keepImages?: number; limit?: number } = {}): Promise<StreamEvaluation> {
  const accumulator = new EvaluationAccumulator();
  const images: Float32Array[] = [];
  const keep = options.keepImages ?? 0;
  for await (const { batch, outputs, shape } of inferBatches(runner, stream, options)) {
    accumulator.add(outputs, shape[1]!, batch.labels, batch.indices);
    const per = batch.images.length / batch.labels.length;
    for (let i = 0; i < batch.labels.length && images.length < keep; i++) images.push(batch.images.slice(i * per, (i + 1) * per));
  }
  return { evaluation: accumulator.finish(), images };
}

export interface CollectedOutputs {
  /** rows x dimension, row-major, in loader order. */
  values: Float32Array;
  rows: number;
  dimension: number;
  labels: Int32Array;
  indices: Int32Array;
}

/** Every output row of one pass in one matrix (features for feature-based transfer, logits for predict). */
export async function collectOutputs(runner: BatchRunner, stream: InputStream): Promise<CollectedOutputs> {
  const chunks: Float32Array[] = [];
  const labels: number[] = [];
  const indices: number[] = [];
  let dimension = 0;
  for await (const { batch, outputs, shape } of inferBatches(runner, stream)) {
    dimension = numel(shape.slice(1));
    chunks.push(outputs);
    labels.push(...batch.labels);
    indices.push(...batch.indices);
  }
  const values = new Float32Array(labels.length * dimension);
  chunks.reduce((offset, chunk) => (values.set(chunk, offset), offset + chunk.length), 0);
  return { values, rows: labels.length, dimension, labels: Int32Array.from(labels), indices: Int32Array.from(indices) };
}
