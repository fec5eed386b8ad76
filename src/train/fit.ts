import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Batch } from '../data/loader.js';
import type { OptimizerConfig } from '../graph/optim.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { InferenceRunner } from '../runtime/inference.js';
import { TrainStep, type TrainStepOptions } from '../runtime/train-step.js';
import { stagesOf } from '../runtime/stages.js';
import { loadParamIntoNet } from '../io/load-params.js';
import { readTrainingCheckpoint, saveNetCheckpoint, type TrainingState } from './checkpoint.js';
import { EvaluationAccumulator, type BatchStream, type Evaluation } from './evaluate.js';
import { FeatureCache } from './feature-cache.js';
import type { Int8Options } from '../runtime/int8.js';
import { countCorrect } from './metrics.js';
import { learningRateAt, type LrSchedule } from './schedules.js';
import { firstNonFinite, NonFiniteLossError, NonFiniteStateError } from './health.js';
import { assertTrainingFits } from './memory.js';
import { removeStaleTemporaries } from './stale-temporaries.js';

/** What fit needs from a loader: DataLoader satisfies it. */
export interface TrainBatches extends BatchStream {
  readonly batchSize: number;
  readonly dropRemainder: boolean;
  readonly dataset: { readonly length: number; labelAt(index: number): number };
  order(epoch: number): Int32Array;
  /** True when batches differ between epochs beyond order (random augmentation). */
  readonly isRandom?: boolean;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy: number;
  epochMs: number;
  stepMs: number;
  learningRate: number;
}

export interface FitOptions {
  epochs: number;
  train: TrainBatches;
  val?: BatchStream;
  /** One sample's shape [C, H, W]. */
  inputShape: readonly number[];
  optimizer: OptimizerConfig;
  lr: number;
  schedule?: LrSchedule;
  /** BN of trainable layers uses batch statistics (default true). Frozen BN layers always use moving ones. */
  bnTraining?: boolean;
  lrScale?: (parameter: Parameter) => number;
  labelSmoothing?: number;
  /** Cache the frozen prefix's outputs when augmentation is off: 'auto' (default) decides. */
  cacheFeatures?: boolean | 'auto';
  /** Folder for best.ckpt and last.ckpt; none = no checkpoints. */
  checkpointDir?: string;
  bestCheckpointName?: string;
  /** Continue from last.ckpt in checkpointDir. */
  resume?: boolean;
  /** Printed like the tutorial's log; default: stdout. */
  log?: (line: string) => void;
  progress?: boolean;
  onEpochEnd?: (record: EpochRecord, evaluation: Evaluation | undefined) => void | Promise<void>;
  /** Extra step inputs (RKD's teacher embeddings) by batch. */
  extraFeeds?: (batch: { indices: Int32Array; images?: Float32Array }) => Promise<Record<string, Float32Array>>;
  extra?: Pick<TrainStepOptions, 'extraLoss' | 'extraInputs' | 'featureStage'>;
  /** Stops after the current step when it resolves (Ctrl-C). */
  signal?: AbortSignal;
  /** Run the frozen prefix as an int8 QDQ graph calibrated on this sample (runtime/int8.ts); default float32. */
  int8?: Int8Options;
}

export interface FitResult {
  history: EpochRecord[];
  bestAccuracy: number;
  bestEpoch: number;
  bestCheckpoint?: string;
  lastCheckpoint?: string;
  lastEvaluation?: Evaluation;
  interrupted: boolean;
}

function batchesOf(order: Int32Array, batchSize: number, dropRemainder: boolean): Int32Array[] {
  const out: Int32Array[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(order.length, start + batchSize);
    if (end - start < batchSize && dropRemainder) break;
    out.push(order.subarray(start, end));
  }
  return out;
}

/**
 * The tutorial's training loop, in one call: per epoch the average train loss, validation
 * accuracy, epoch time and per-step time; the best checkpoint by validation accuracy; the last
 * one for resuming. Frozen leading layers run as an inference graph and, without random
 * augmentation, are computed once and cached.
 */
export async function fit(net: Module, options: FitOptions): Promise<FitResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const bnTraining = options.bnTraining ?? true;
  net.parameters();
  const checkpointDir = options.checkpointDir;
  const bestPath = checkpointDir ? path.join(checkpointDir, options.bestCheckpointName ?? 'best.ckpt') : undefined;
  const lastPath = checkpointDir ? path.join(checkpointDir, 'last.ckpt') : undefined;

  // Files a killed run left half-written; the real checkpoints are never among them.
  if (checkpointDir) await removeStaleTemporaries(checkpointDir, [path.basename(bestPath!), path.basename(lastPath!)]);

  let state: TrainingState = { epoch: 0, step: 0, bestAccuracy: -1, bestEpoch: 0, history: [] };
  let initialOptimizerState: Map<string, Float32Array> | undefined;
  if (options.resume) {
    if (!lastPath) throw new Error('--resume needs a checkpoint folder');
    const saved = await readTrainingCheckpoint(lastPath).catch((error: Error) => {
      throw new Error(`cannot resume: ${error.message}`);
    });
    if (!saved.state) throw new Error(`cannot resume: ${lastPath} holds no training state`);
    loadParamIntoNet(net, saved.tensors, { strict: false });
    initialOptimizerState = saved.optimizer;
    state = saved.state;
    log(`Resuming from ${lastPath} after epoch ${state.epoch}`);
  }

  const cacheWanted = options.cacheFeatures ?? 'auto';
  const mayCache = cacheWanted === true || (cacheWanted === 'auto' && options.train.isRandom === false);
  assertTrainingFits(net, {
    inputShape: options.inputShape, batchSize: options.train.batchSize, optimizer: options.optimizer, bnTraining, lrScale: options.lrScale,
    labelSmoothing: options.labelSmoothing, ...options.extra, cachedExamples: mayCache ? options.train.dataset.length : 0,
  });
  const step = await TrainStep.create(net, {
    inputShape: options.inputShape, optimizer: options.optimizer, bnTraining, lrScale: options.lrScale,
    labelSmoothing: options.labelSmoothing, initialOptimizerState, ...options.extra, prefixInt8: options.int8,
  });
  // Adam's bias correction continues from the saved step count.
  for (let i = 0; i < state.step; i++) step.advanceStepCounter();
  const stages = stagesOf(net);
  const suffixStages = stages.slice(stages.length - step.suffixStageCount);
  const useCache = step.prefix !== null && mayCache;
  const trainCache = useCache ? new FeatureCache(options.train.dataset.length, step.suffixInputShape) : null;
  const valCache = new Map<number, { activations: Float32Array; labels: Int32Array; indices: Int32Array }>();
  const { train } = options;
  const stepsPerEpoch = train.steps;
  const totalSteps = stepsPerEpoch * options.epochs;
  const history = state.history as EpochRecord[];
  let lastEvaluation: Evaluation | undefined;
  let interrupted = false;

  try {
    for (let epoch = state.epoch; epoch < options.epochs && !interrupted; epoch++) {
      const started = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let steps = 0;
      let learningRate = options.lr;
      const bar = options.progress ? new SingleBar({ format: `epoch ${epoch + 1}/${options.epochs} [{bar}] {value}/{total} loss {loss}`, stream: process.stderr, hideCursor: true, clearOnComplete: true }) : null;
      bar?.start(stepsPerEpoch, 0, { loss: '-' });
      const runStep = async (activations: Float32Array, labels: Int32Array, indices: Int32Array, images?: Float32Array) => {
        learningRate = learningRateAt(options.schedule ?? { kind: 'constant' }, options.lr, state.step, totalSteps, stepsPerEpoch);
        const extra = options.extraFeeds ? await options.extraFeeds({ indices, images }) : {};
        const result = await step.stepOnActivations(activations, labels, learningRate, extra);
        state.step++;
        steps++;
        if (!Number.isFinite(result.loss)) {
          throw new NonFiniteLossError(epoch + 1, steps, result.loss, firstNonFinite(step.currentTensors()));
        }
        lossSum += result.loss;
        const classes = result.logits.length / labels.length;
        correct += countCorrect(result.logits, labels, classes);
        seen += labels.length;
        bar?.update(steps, { loss: result.loss.toFixed(3) });
        if (options.signal?.aborted) interrupted = true;
      };
      if (trainCache?.complete) {
        for (const indices of batchesOf(train.order(epoch), train.batchSize, train.dropRemainder)) {
          const labels = Int32Array.from(indices, (i) => train.dataset.labelAt(i));
          await runStep(trainCache.gather(indices), labels, indices);
          if (interrupted) break;
        }
      } else {
        for await (const batch of train.epoch(epoch) as AsyncIterable<Batch>) {
          const activations = await step.prefixActivations(batch.images, batch.labels.length);
          trainCache?.store(batch.indices, activations);
          await runStep(activations, batch.labels, batch.indices, batch.images);
          if (interrupted) break;
        }
      }
      bar?.stop();
      step.syncToNetwork();
      if (interrupted && steps < stepsPerEpoch) {
        log(`Interrupted in epoch ${epoch + 1}; the last complete epoch stays in ${lastPath ?? '(no checkpoint folder)'}`);
        break;
      }
      // A last update can overflow while its loss is finite: never save such weights over good ones.
      const poisoned = firstNonFinite(step.currentTensors());
      if (poisoned) throw new NonFiniteStateError(epoch + 1, steps, poisoned);
      const evaluation = options.val ? await validate(options.val, step, suffixStages, valCache) : undefined;
      lastEvaluation = evaluation;
      const epochMs = performance.now() - started;
      const record: EpochRecord = {
        epoch: epoch + 1, trainLoss: lossSum / Math.max(1, steps), trainAccuracy: correct / Math.max(1, seen),
        valLoss: evaluation?.loss, valAccuracy: evaluation?.accuracy ?? correct / Math.max(1, seen),
        epochMs, stepMs: epochMs / Math.max(1, steps), learningRate,
      };
      history.push(record);
      log('-'.repeat(20));
      log(`Epoch: [${String(record.epoch).padStart(3)}/${String(options.epochs).padStart(3)}], Average Train Loss: [${record.trainLoss.toFixed(3)}], Accuracy: [${record.valAccuracy.toFixed(3)}]`);
      log(`epoch time: ${epochMs.toFixed(3)} ms, per step time: ${record.stepMs.toFixed(3)} ms`);
      state = { ...state, epoch: epoch + 1, history };
      if (record.valAccuracy > state.bestAccuracy) {
        state.bestAccuracy = record.valAccuracy;
        state.bestEpoch = record.epoch;
        if (bestPath) await saveNetCheckpoint(bestPath, net);
      }
      if (lastPath) await saveNetCheckpoint(lastPath, net, { optimizer: step.optimizerState(), state });
      await options.onEpochEnd?.(record, evaluation);
    }
  } finally {
    await step.release();
  }
  log('='.repeat(80));
  log(`End of validation the best Accuracy is: ${state.bestAccuracy.toFixed(3)}, save the best ckpt file in ${bestPath ?? '(not saved)'}`);
  return { history, bestAccuracy: state.bestAccuracy, bestEpoch: state.bestEpoch, bestCheckpoint: bestPath, lastCheckpoint: lastPath, lastEvaluation, interrupted };
}

/** Validation in inference mode; a frozen prefix's outputs are computed once and reused every epoch. */
async function validate(val: BatchStream, step: TrainStep, suffix: Array<[string, Module]>, cache: Map<number, { activations: Float32Array; labels: Int32Array; indices: Int32Array }>): Promise<Evaluation> {
  const runner = await InferenceRunner.create(suffix, step.suffixInputShape);
  const accumulator = new EvaluationAccumulator();
  try {
    if (cache.size === 0 || !step.prefix) {
      let k = 0;
      for await (const batch of val.epoch(0)) {
        const activations = await step.prefixActivations(batch.images, batch.labels.length);
        if (step.prefix) cache.set(k++, { activations, labels: batch.labels, indices: batch.indices });
        const out = await runner.run(activations, batch.labels.length);
        accumulator.add(out.data, out.shape[1]!, batch.labels, batch.indices);
      }
    } else {
      for (const { activations, labels, indices } of cache.values()) {
        const out = await runner.run(activations, labels.length);
        accumulator.add(out.data, out.shape[1]!, labels, indices);
      }
    }
  } finally {
    await runner.release();
  }
  return accumulator.finish();
}
