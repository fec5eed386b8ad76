import { numel } from '../tensor.js';
import type { Module } from '../nn/module.js';
import { buildInferenceGraph, buildTrainingGraph, type TrainingGraphOptions } from '../runtime/compile.js';
import { firstTrainableStage, stagesOf } from '../runtime/stages.js';
import { ortEngine } from '../runtime/ort.js';

const MB = 1024 * 1024;
const FLOAT_BYTES = 4;

/**
 * Calibration against measured peak RSS (bench/RESULTS.md, "Reliability"): the activations the
 * forward ops keep for backward, times this factor, cover the backward pass's temporaries
 * (activation gradients, per-sample weight-gradient partials) and ORT's arena rounding. Measured
 * slopes were 1.5x (resnet50, 224 px) to 3x (resnet18, 112 px) the kept activations; 2 sits between.
 */
const ACTIVATION_FACTOR = 2;
/** Node.js, ONNX Runtime's libraries and sessions before any tensor: measured ~200 MB. */
const RUNTIME_BYTES = 200 * MB;

export interface TrainingMemoryEstimate {
  batchSize: number;
  /** Forward activations kept for backward, one sample. */
  activationBytesPerSample: number;
  /**
   * Independent of the batch: the network's weights, the trained ones' new values and gradients,
   * optimizer state in and out, the frozen prefix's constants in its ORT session.
   */
  fixedBytes: number;
  /** Cached frozen-prefix outputs for the whole training set, if fit caches them. */
  cacheBytes: number;
  totalBytes: number;
}

export interface EstimateOptions extends Omit<TrainingGraphOptions, 'batchSize' | 'inputShape'> {
  /** One sample's shape [C, H, W]. */
  inputShape: readonly number[];
  batchSize: number;
  /** Examples whose frozen-prefix outputs fit keeps in memory (0 or absent: no feature cache). */
  cachedExamples?: number;
}

function floatsOf(parameters: Iterable<{ data: { length: number } }>): number {
  let total = 0;
  for (const p of parameters) total += p.data.length;
  return total;
}

/**
 * Approximate peak memory of training `net` at a batch size, from the training graph's symbolic
 * shapes (no session is created): every float tensor the differentiable forward ops read or
 * produce stays alive until its backward runs. Splits off the frozen prefix like TrainStep.
 */
export function estimateTrainingMemory(net: Module, options: EstimateOptions): TrainingMemoryEstimate {
  const all = net.parameters();
  const stages = stagesOf(net);
  const split = firstTrainableStage(stages, options.bnTraining);
  let suffixInputShape = options.inputShape;
  let prefixFloats = 0;
  if (split > 0) {
    const prefix = stages.slice(0, split);
    suffixInputShape = buildInferenceGraph(prefix, options.inputShape).outputs[0]!.value.shape.slice(1);
    // ORT holds the prefix's weights as initializers and again prepacked for its convolutions.
    prefixFloats = 2 * floatsOf(prefix.flatMap(([, stage]) => stage.parameters()));
  }
  // Built at batch 1: activations grow linearly with the batch, so one graph gives every batch size.
  const { graph, trainable, optimizerState } = buildTrainingGraph(stages.slice(split), { ...options, batchSize: 1, inputShape: suffixInputShape });
  const trainableNames = new Set(trainable.map((p) => p.name));
  const constants = new Set(graph.initializers.map((i) => i.name));
  const seen = new Set<string>();
  let activationFloats = 0;
  for (const entry of graph.tape) {
    for (const tensor of [...entry.inputs, ...entry.outputs]) {
      if (tensor.type !== 'float32' || seen.has(tensor.name) || trainableNames.has(tensor.name) || constants.has(tensor.name)) continue;
      seen.add(tensor.name);
      activationFloats += numel(tensor.shape);
    }
  }
  const stateFloats = floatsOf(optimizerState.map((s) => s.parameter));
  const constantFloats = graph.initializers.reduce((sum, i) => sum + (i.data instanceof Float32Array ? i.data.length : 0), 0);
  const fixedFloats = floatsOf(all) + 2 * floatsOf(trainable) + 2 * stateFloats + constantFloats + prefixFloats;
  const cacheFloats = split > 0 ? (options.cachedExamples ?? 0) * numel(suffixInputShape) : 0;
  const estimate = {
    batchSize: options.batchSize, activationBytesPerSample: FLOAT_BYTES * activationFloats,
    fixedBytes: FLOAT_BYTES * fixedFloats, cacheBytes: FLOAT_BYTES * cacheFloats,
  };
  return { ...estimate, totalBytes: totalFor(estimate, options.batchSize) };
}

function totalFor(estimate: Omit<TrainingMemoryEstimate, 'totalBytes'>, batchSize: number): number {
  return RUNTIME_BYTES + estimate.fixedBytes + estimate.cacheBytes + ACTIVATION_FACTOR * estimate.activationBytesPerSample * batchSize;
}

/** Largest batch whose estimate fits in `availableBytes` (0 when not even one sample fits). */
export function largestFittingBatch(estimate: TrainingMemoryEstimate, availableBytes: number): number {
  const room = availableBytes - RUNTIME_BYTES - estimate.fixedBytes - estimate.cacheBytes;
  if (room <= 0) return 0;
  return Math.floor(room / (ACTIVATION_FACTOR * estimate.activationBytesPerSample));
}

/**
 * Memory a training run may use: TLKIT_MEMORY_LIMIT_MB when set, else what the ORT engine says:
 * in Node the kernel's MemAvailable capped by a cgroup limit, in the browser WebAssembly's 4 GB.
 */
export function availableMemoryBytes(env: Record<string, string | undefined> = processEnv()): { bytes: number; source: string } {
  const override = env.TLKIT_MEMORY_LIMIT_MB;
  if (override !== undefined && override !== '') {
    const mb = Number(override);
    if (!Number.isFinite(mb) || mb <= 0) throw new Error(`TLKIT_MEMORY_LIMIT_MB must be a positive number of megabytes, got "${override}"`);
    return { bytes: mb * MB, source: 'TLKIT_MEMORY_LIMIT_MB' };
  }
  return ortEngine().availableMemory();
}

function processEnv(): Record<string, string | undefined> {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
}

export class InsufficientMemoryError extends Error {
  constructor(readonly estimate: TrainingMemoryEstimate, readonly availableBytes: number, readonly suggestedBatchSize: number, source: string) {
    const need = Math.ceil(estimate.totalBytes / MB);
    const have = Math.floor(availableBytes / MB);
    const advice = suggestedBatchSize > 0
      ? `try a batch size of ${suggestedBatchSize} (--batch-size ${suggestedBatchSize})`
      : 'even batch size 1 does not fit: use a smaller model or image size, or freeze more layers';
    super(`training at batch size ${estimate.batchSize} needs about ${need} MB but ${source} is ${have} MB; ${advice} (set TLKIT_MEMORY_LIMIT_MB to override the limit)`);
    this.name = 'InsufficientMemoryError';
  }
}

/** Throws InsufficientMemoryError, with a batch size that fits, when the estimate exceeds the memory available. */
export function checkTrainingMemory(estimate: TrainingMemoryEstimate, available = availableMemoryBytes()): void {
  if (estimate.totalBytes <= available.bytes) return;
  const suggested = Math.min(estimate.batchSize - 1, largestFittingBatch(estimate, available.bytes));
  throw new InsufficientMemoryError(estimate, available.bytes, Math.max(0, suggested), available.source);
}

/** Estimates, then throws InsufficientMemoryError when the run would not fit; what fit calls before training. */
export function assertTrainingFits(net: Module, options: EstimateOptions, available = availableMemoryBytes()): TrainingMemoryEstimate {
  const estimate = estimateTrainingMemory(net, options);
  checkTrainingMemory(estimate, available);
  return estimate;
}
