import type { Batch } from '../data/loader.js';
import type { OptimizerConfig } from '../graph/optim.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { InferenceRunner } from '../runtime/inference.js';
import { TrainStep, type StepResult, type TrainStepOptions } from '../runtime/train-step.js';
import { stagesOf } from '../runtime/stages.js';
import type { TrainingState } from './checkpoint.js';
import type { BatchStream, Evaluation } from './evaluate.js';
import { FeatureCache } from './feature-cache.js';
import type { FrozenFeatures } from './cached-evaluation.js';
import type { Int8Options } from '../runtime/int8.js';
import { evaluateStream } from './infer.js';
import { countCorrect } from './metrics.js';
import { learningRateAt, type LrSchedule } from './schedules.js';
import { assertTrainingFits } from './memory.js';
import { CallbackList, type Callback, type EpochRecord, type StopRequest, type TrainBatch, type TrainingRun } from './callbacks/callback.js';
import type { Checkpoints, CheckpointOptions } from './callbacks/checkpoints.js';
import { NonFiniteGuard } from './callbacks/non-finite-guard.js';
import { StopOnAbort } from './callbacks/stop-on-abort.js';
import { TutorialLog } from './callbacks/tutorial-log.js';
import { Mixing, SOFT_TARGETS, type MixOptions } from './callbacks/mixing.js';
import { balancedClassWeights } from './class-weights.js';
import { classWeightedCrossEntropy, softTargetCrossEntropy } from '../graph/ops/loss.js';
import { nodeFitHost } from './fit-node.js';
import { trace } from '../util/trace.js';

export type { EpochRecord } from './callbacks/callback.js';

/** What fit needs from a loader: DataLoader satisfies it. */
export interface TrainBatches extends BatchStream {
  readonly batchSize: number;
  readonly dropRemainder: boolean;
  readonly dataset: { readonly length: number; readonly classNames?: readonly string[]; labelAt(index: number): number };
  order(epoch: number): Int32Array;
  /** True when batches differ between epochs beyond order (random augmentation). */
  readonly isRandom?: boolean;
  /** Examples the loader skips (images that failed to decode): the feature cache is complete without them. */
  readonly excluded?: ReadonlySet<number>;
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
  /** Per-class loss weights (torch's CrossEntropyLoss weight), or 'balanced' for n / (classes * count) from the training labels. */
  classWeights?: readonly number[] | 'balanced';
  /** Train on mixup or cutmix blends of each batch (turns the feature cache off). */
  mix?: MixOptions;
  /** Cache the frozen prefix's outputs when augmentation is off: 'auto' (default) decides. */
  cacheFeatures?: boolean | 'auto';
  /** Folder for best.ckpt and last.ckpt; none = no checkpoints. */
  checkpointDir?: string;
  bestCheckpointName?: string;
  /** Continue from last.ckpt in checkpointDir. */
  resume?: boolean;
  /** Write last.ckpt (weights, optimizer state, training state, for `resume`) after every epoch (default true); best.ckpt is written either way. */
  keepLast?: boolean;
  /** Printed like the tutorial's log; default: stdout. */
  log?: (line: string) => void;
  progress?: boolean;
  /** Called after each epoch, after the checkpoints (a shorthand for a callback's onEpochEnd). */
  onEpochEnd?: (record: EpochRecord, evaluation: Evaluation | undefined) => void | Promise<void>;
  /** Run after the default callbacks (tutorial log, progress bar, non-finite guard, checkpoints), in order. */
  callbacks?: Callback[];
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
  /** Stopped by the signal (Ctrl-C). */
  interrupted: boolean;
  /** Why a callback (early stopping) ended training before the last epoch. */
  stoppedEarly?: string;
  /** Leading stages that ran as the frozen inference graph (int8 with `int8`); an evaluation at int8 splits there too. */
  frozenStages: number;
  /** The frozen prefix's outputs of every val example (a frozen prefix and a complete validation): the final evaluation runs the trained stages on these alone (cached-evaluation.ts). */
  valFeatures?: FrozenFeatures;
}

/**
 * What fit needs beyond ORT: checkpoint files, a terminal progress bar and the default log.
 * Node's is train/fit-node.ts; the browser build has none (save from a callback there).
 */
export interface FitHost {
  checkpoints(directory: string, options: CheckpointOptions): Checkpoints;
  progressBar(): Callback;
  log(line: string): void;
}

function fileHost(): FitHost {
  if (!nodeFitHost) throw new Error('fit: checkpointDir and resume need a file system (Node.js); in a browser, save from onEpochEnd with netCheckpointEntries + encodeCheckpoint');
  return nodeFitHost;
}

/** The callbacks every run gets from its options, before the caller's own. */
function defaultCallbacks(options: FitOptions, checkpoints: Checkpoints | undefined): Callback[] {
  const callbacks: Callback[] = [new NonFiniteGuard()];
  if (options.progress && nodeFitHost) callbacks.push(nodeFitHost.progressBar());
  callbacks.push(new TutorialLog(checkpoints?.bestPath));
  if (checkpoints) callbacks.push(checkpoints);
  const onEpochEnd = options.onEpochEnd;
  if (onEpochEnd) callbacks.push({ onEpochEnd: (_run, end) => onEpochEnd(end.record, end.evaluation) });
  if (options.signal) callbacks.push(new StopOnAbort(options.signal));
  return callbacks;
}

/** The class count of a training set: its class names, else the largest label + 1. */
function classCount(train: TrainBatches): number {
  const names = train.dataset.classNames;
  if (names) return names.length;
  let largest = 0;
  for (let i = 0; i < train.dataset.length; i++) largest = Math.max(largest, train.dataset.labelAt(i));
  return largest + 1;
}

interface TrainingLoss {
  loss?: TrainStepOptions['loss'];
  extraInputs?: Record<string, readonly number[]>;
}

/** The loss the step trains on: the sparse cross-entropy, unless class weights or mixing ask for another. */
function trainingLoss(options: FitOptions, classes: number): TrainingLoss {
  const { train, mix } = options;
  const classWeights = options.classWeights === 'balanced'
    ? balancedClassWeights(Int32Array.from({ length: train.dataset.length }, (_, i) => train.dataset.labelAt(i)), classes, train.dataset.classNames)
    : options.classWeights;
  if (classWeights && classWeights.length !== classes) throw new Error(`${classWeights.length} class weights for ${classes} classes`);
  if ((classWeights || mix) && options.labelSmoothing) throw new Error('label smoothing does not combine with class weights, mixup or cutmix');
  if (mix) {
    return {
      loss: (g, logits) => softTargetCrossEntropy(g, logits, g.input(SOFT_TARGETS, [logits.shape[0]!, classes]), { classWeights }),
      extraInputs: { ...options.extra?.extraInputs, [SOFT_TARGETS]: [classes] },
    };
  }
  if (classWeights) return { loss: (g, logits, labels) => classWeightedCrossEntropy(g, logits, labels, classWeights) };
  return {};
}

class Run implements TrainingRun {
  state: TrainingState = { epoch: 0, step: 0, bestAccuracy: -1, bestEpoch: 0, history: [] };
  initialOptimizerState?: Map<string, Float32Array>;
  stopRequest: StopRequest | undefined;
  compiled: TrainStep | undefined;

  constructor(readonly net: Module, readonly epochs: number, readonly stepsPerEpoch: number, readonly log: (line: string) => void) {}

  get step(): TrainStep {
    if (!this.compiled) throw new Error('the training step is compiled after onTrainBegin');
    return this.compiled;
  }

  stop(reason: string, kind: StopRequest['kind'] = 'callback'): void {
    this.stopRequest ??= { reason, kind };
  }
}

interface EpochTotals {
  lossSum: number;
  correct: number;
  seen: number;
  steps: number;
  learningRate: number;
  dataWaitMs: number;
}

/**
 * The tutorial's training loop as a short event loop: per epoch the average train loss,
 * validation accuracy, epoch time and per-step time; everything else (log, progress bar,
 * checkpoints and resume, non-finite guard, user callbacks) reacts to its events. Frozen leading
 * layers run as an inference graph and, without random augmentation, are computed once and cached.
 */
export async function fit(net: Module, options: FitOptions): Promise<FitResult> {
  if (options.resume && !options.checkpointDir) throw new Error('resume needs checkpointDir, the folder holding last.ckpt');
  if (options.resume && options.keepLast === false) throw new Error('resume continues from last.ckpt, which keepLast: false does not write');
  const log = options.log ?? nodeFitHost?.log ?? ((line: string) => console.log(line));
  const bnTraining = options.bnTraining ?? true;
  net.nameParameters();
  const checkpoints = options.checkpointDir ? fileHost().checkpoints(options.checkpointDir, { bestName: options.bestCheckpointName, resume: options.resume, last: options.keepLast }) : undefined;
  // last.ckpt is written only with a checkpoint folder and keepLast not off.
  const lastCheckpoint = options.keepLast === false ? undefined : checkpoints?.lastPath;
  const { train } = options;
  const classes = classCount(train);
  const loss = trainingLoss(options, classes);
  const mixing = options.mix ? [new Mixing(options.mix, classes, options.inputShape)] : [];
  const callbacks = new CallbackList([...defaultCallbacks(options, checkpoints), ...mixing, ...(options.callbacks ?? [])]);
  const run = new Run(net, options.epochs, train.steps, log);
  await callbacks.onTrainBegin(run);

  const cacheWanted = options.cacheFeatures ?? 'auto';
  if (cacheWanted === true && options.mix) throw new Error(`${options.mix.kind} blends images: the feature cache cannot be on`);
  const mayCache = !options.mix && (cacheWanted === true || (cacheWanted === 'auto' && train.isRandom === false));
  assertTrainingFits(net, {
    inputShape: options.inputShape, batchSize: train.batchSize, optimizer: options.optimizer, bnTraining, lrScale: options.lrScale,
    labelSmoothing: options.labelSmoothing, ...options.extra, ...loss, cachedExamples: mayCache ? train.dataset.length : 0,
  });
  const step = await TrainStep.create(net, {
    inputShape: options.inputShape, optimizer: options.optimizer, bnTraining, lrScale: options.lrScale,
    labelSmoothing: options.labelSmoothing, initialOptimizerState: run.initialOptimizerState, ...options.extra, ...loss, prefixInt8: options.int8,
  });
  run.compiled = step;
  trace('training graphs (frozen prefix, its int8 build, training step)');
  // Adam's bias correction continues from the saved step count.
  for (let i = 0; i < run.state.step; i++) step.advanceStepCounter();
  const trainCache = step.prefix !== null && mayCache ? new FeatureCache(train.dataset.length, step.suffixInputShape) : null;
  const validation = options.val ? new Validation(options.val, step, net) : undefined;
  const frozenStages = step.prefix ? stagesOf(net).length - step.suffixStageCount : 0;
  const history = run.state.history as EpochRecord[];
  let lastEvaluation: Evaluation | undefined;

  try {
    for (let epoch = run.state.epoch + 1; epoch <= options.epochs && !run.stopRequest; epoch++) {
      const started = performance.now();
      const cpuAtStart = processCpuMs();
      await callbacks.onEpochBegin(run, epoch);
      const totals = await trainEpoch(run, callbacks, options, epoch, trainCache);
      step.syncToNetwork();
      // Callbacks may have asked to stop during the batches (TypeScript cannot see that).
      const stop = run.stopRequest as StopRequest | undefined;
      if (stop && totals.steps < run.stepsPerEpoch) {
        const kept = `the last complete epoch stays in ${lastCheckpoint ?? (checkpoints ? '(no last.ckpt: keepLast is off)' : '(no checkpoint folder)')}`;
        log(stop.kind === 'interrupt' ? `Interrupted in epoch ${epoch}; ${kept}` : `Stopped in epoch ${epoch} (${stop.reason}); ${kept}`);
        break;
      }
      await callbacks.onValidateBegin(run, epoch, totals.steps);
      const evaluation = await validation?.run();
      lastEvaluation = evaluation;
      const epochMs = performance.now() - started;
      const cpuAtEnd = processCpuMs();
      const record: EpochRecord = {
        epoch, trainLoss: totals.lossSum / Math.max(1, totals.steps), trainAccuracy: totals.correct / Math.max(1, totals.seen),
        valLoss: evaluation?.loss, valAccuracy: evaluation?.accuracy ?? totals.correct / Math.max(1, totals.seen),
        epochMs, stepMs: epochMs / Math.max(1, totals.steps), learningRate: totals.learningRate, dataWaitMs: totals.dataWaitMs,
        ...(cpuAtStart !== undefined && cpuAtEnd !== undefined ? { cpuMs: cpuAtEnd - cpuAtStart } : {}),
      };
      history.push(record);
      run.state = { ...run.state, epoch, history };
      const improved = record.valAccuracy > run.state.bestAccuracy;
      if (improved) {
        run.state.bestAccuracy = record.valAccuracy;
        run.state.bestEpoch = epoch;
      }
      await callbacks.onEpochEnd(run, { record, evaluation, improved });
    }
    await callbacks.onTrainEnd(run);
  } finally {
    await checkpoints?.settled();
    await step.release();
    await validation?.release();
  }
  const { bestAccuracy, bestEpoch } = run.state;
  const stoppedEarly = run.stopRequest?.kind === 'callback' ? run.stopRequest.reason : undefined;
  const valBatches = validation?.features();
  const valFeatures = valBatches && step.prefix ? { batches: valBatches, shape: step.suffixInputShape, ...(step.prefix.int8 ? { int8: step.prefix.int8 } : {}) } : undefined;
  return {
    history, bestAccuracy, bestEpoch, bestCheckpoint: checkpoints?.bestPath, lastCheckpoint, lastEvaluation,
    interrupted: run.stopRequest?.kind === 'interrupt', stoppedEarly, frozenStages, ...(valFeatures ? { valFeatures } : {}),
  };
}

/** CPU time of the whole process so far (all threads: ORT's, the decoders', JS), where the platform tells it (Node). */
function processCpuMs(): number | undefined {
  const usage = globalThis.process?.cpuUsage?.();
  return usage ? (usage.user + usage.system) / 1000 : undefined;
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

/** One epoch's batches: from the feature cache once it is full, else from the loader (filling the cache). */
async function* epochBatches(train: TrainBatches, epoch: number, cache: FeatureCache | null): AsyncGenerator<{ indices: Int32Array; labels: Int32Array; images?: Float32Array; cached?: Float32Array }> {
  if (cache?.completeWithout(train.excluded)) {
    for (const indices of batchesOf(train.order(epoch), train.batchSize, train.dropRemainder)) {
      yield { indices, labels: Int32Array.from(indices, (i) => train.dataset.labelAt(i)), cached: cache.gather(indices) };
    }
    return;
  }
  for await (const batch of train.epoch(epoch) as AsyncIterable<Batch>) yield { indices: batch.indices, labels: batch.labels, images: batch.images };
}

async function trainEpoch(run: Run, callbacks: CallbackList, options: FitOptions, epoch: number, cache: FeatureCache | null): Promise<EpochTotals> {
  const totals: EpochTotals = { lossSum: 0, correct: 0, seen: 0, steps: 0, learningRate: options.lr, dataWaitMs: 0 };
  const totalSteps = run.stepsPerEpoch * options.epochs;
  const step = run.step;
  let waitingSince = performance.now();
  // The loader counts epochs from 0, as the seeds of earlier runs did.
  for await (const source of epochBatches(options.train, epoch - 1, cache)) {
    totals.dataWaitMs += performance.now() - waitingSince;
    totals.learningRate = learningRateAt(options.schedule ?? { kind: 'constant' }, options.lr, run.state.step, totalSteps, run.stepsPerEpoch);
    const batch: TrainBatch = { indices: source.indices, labels: source.labels, images: source.images, feeds: {}, epoch, step: totals.steps + 1, learningRate: totals.learningRate };
    await callbacks.onBatchBegin(run, batch);
    totals.learningRate = batch.learningRate;
    const activations = source.cached ?? (await step.prefixActivations(batch.images!, batch.labels.length));
    if (!source.cached) cache?.store(batch.indices, activations);
    const extra = options.extraFeeds ? await options.extraFeeds({ indices: batch.indices, images: batch.images }) : {};
    const result: StepResult = await step.stepOnActivations(activations, batch.labels, batch.learningRate, { ...extra, ...batch.feeds });
    run.state.step++;
    totals.steps++;
    await callbacks.onBatchEnd(run, batch, result);
    totals.lossSum += result.loss;
    totals.correct += countCorrect(result.logits, batch.labels, result.logits.length / batch.labels.length);
    totals.seen += batch.labels.length;
    if (run.stopRequest) break;
    waitingSince = performance.now();
  }
  return totals;
}

/** Validation in inference mode; a frozen prefix's outputs are computed once and replayed every epoch. */
class Validation {
  private readonly cached: Batch[] = [];
  private complete = false;
  private runner: InferenceRunner | undefined;

  constructor(private readonly val: BatchStream, private readonly step: TrainStep, private readonly net: Module) {}

  /** The loader's batches with images replaced by the frozen prefix's outputs. */
  private activations(): BatchStream {
    const { val, step, cached } = this;
    if (!step.prefix) return val;
    if (this.complete) return { steps: cached.length, epoch: async function* () { yield* cached; } };
    const completed = () => {
      this.complete = true;
    };
    return {
      steps: val.steps,
      epoch: async function* () {
        cached.length = 0;
        for await (const batch of val.epoch(0)) {
          const images = await step.prefixActivations(batch.images, batch.labels.length);
          const replaced = { ...batch, images, shape: [batch.labels.length, ...step.suffixInputShape] as Batch['shape'] };
          cached.push(replaced);
          yield replaced;
        }
        completed();
      },
    };
  }

  /** The frozen prefix's outputs of every val batch, once a pass has gone through them all. */
  features(): readonly Batch[] | undefined {
    return this.step.prefix && this.complete ? this.cached : undefined;
  }

  async run(): Promise<Evaluation> {
    // The suffix's weights changed this epoch: a new runner snapshots them.
    await this.release();
    const stages = stagesOf(this.net);
    this.runner = await InferenceRunner.create(stages.slice(stages.length - this.step.suffixStageCount), this.step.suffixInputShape);
    const { evaluation } = await evaluateStream(this.runner, this.activations());
    await this.release();
    return evaluation;
  }

  async release(): Promise<void> {
    await this.runner?.release();
    this.runner = undefined;
  }
}
