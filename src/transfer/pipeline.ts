/**
 * The transfer study: the tutorial's four-step flow, measured: (1) choose a data-rich source task, (2) develop a
 * source model and check it beats naive ones, (3) reuse it with fixed features, (4) fine-tune it
 * on the target; with from-scratch training and feature-based / relation-based transfer beside
 * them on the same few labelled target images, so every gain (or loss) is visible.
 */
import * as path from 'node:path';
import { DataLoader } from '../data/loader.js';
import type { Pipeline as TransformChain } from '../data/transforms.js';
import type { SourceDataset } from '../data/dataset.js';
import { trainValSplit } from '../data/splits.js';
import { Dense } from '../nn/layers/dense.js';
import { Flatten } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/sequential.js';
import { seedInitializers } from '../nn/init.js';
import type { ImageClassifier } from '../models/classifier.js';
import { InferenceRunner } from '../runtime/inference.js';
import { defaultThreads, withSessionDefaults } from '../runtime/session.js';
import { mapLimited } from '../util/concurrency.js';
import { evaluate, type Evaluation } from '../train/evaluate.js';
import { fit, type EpochRecord } from '../train/fit.js';
import { copyWeights } from './weights.js';
import { FIXED_FEATURE_RECIPE, pipelineNet, targetTask, transferredNet, type PipelineModel } from './target-task.js';
import { calibrationSamples } from '../data/calibration-sample.js';
import { DEFAULT_AGREEMENT_IMAGES, DEFAULT_CALIBRATION_IMAGES, describeInt8, Int8Builds, type Int8Options, type Int8Report } from '../runtime/int8.js';
import { extractFeatures } from './extract.js';
import { SoftmaxRegression } from './tensor-classifier.js';
import { KNearestNeighbours, accuracyOf } from './neighbours.js';
import { fineTune, trainFixedFeature } from './strategies.js';
import { rkdExtraLoss, PAPER_RKD_WEIGHTS, TeacherEmbeddings, type RkdWeights } from './rkd.js';
import { numel } from '../tensor.js';

export type TargetMethod = 'scratch' | 'fixed-feature' | 'feature-softmax' | 'feature-knn' | 'finetune' | 'finetune-rkd';

export interface StudyResult {
  source: { accuracy: number; baselines: { majority: number; linear: number } };
  target: Array<{ method: TargetMethod; accuracy: number }>;
}

export interface StudyDetails extends StudyResult {
  sourceClasses: string[];
  targetClasses: string[];
  /** Class indices in the dataset, as given. */
  targetClassIndices: number[];
  shots: number;
  seed: number;
  sourceHistory: EpochRecord[];
  /** Evaluation of the best target method, for reports. */
  bestEvaluation?: { method: TargetMethod; evaluation: Evaluation };
  timingsMs: Record<string, number>;
  precision: 'float32' | 'int8';
  /** The int8 backbone's calibration and its agreement with float32 (precision int8). */
  int8?: Int8Report;
}

export type { PipelineModel } from './target-task.js';

export interface StudyEpochs {
  source: number;
  scratch: number;
  fixedFeature: number;
  finetuneHead: number;
  finetune: number;
  linearBaseline: number;
  featureSoftmax: number;
}

export const DEFAULT_EPOCHS: StudyEpochs = { source: 6, scratch: 60, fixedFeature: 60, finetuneHead: 20, finetune: 40, linearBaseline: 10, featureSoftmax: 100 };

export interface StudyOptions {
  dataset: SourceDataset;
  /** The per-image pipeline (normalization, and resizing for files); no random steps. */
  transforms: TransformChain;
  /** Augmentation for training the source model (random crops and flips); default: `transforms`. */
  sourceAugmentation?: TransformChain;
  /** One transformed sample's shape [C, H, W]. */
  inputShape: [number, number, number];
  sourceClasses: number[];
  targetClasses: number[];
  shots: number;
  seed: number;
  model?: PipelineModel;
  epochs?: Partial<StudyEpochs>;
  rkdWeights?: RkdWeights;
  /** Learning rate of the fine-tuning phase, and the pretrained body's multiplier of it. */
  finetune?: { lr?: number; bodyLrScale?: number };
  /**
   * int8: the frozen source backbone of fixed-feature and feature-based transfer runs as an int8 QDQ graph,
   * calibrated on the labelled target images (the methods that train every layer stay float32).
   */
  precision?: 'float32' | 'int8';
  /** Target methods trained at the same time, each on its share of the cores (default 2). */
  methodsAtOnce?: number;
  /** Checkpoints of the source model and of each target method go here. */
  outDir?: string;
  log?: (line: string) => void;
}

export async function runTransferStudy(options: StudyOptions): Promise<StudyDetails> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quiet = () => undefined;
  const epochs = { ...DEFAULT_EPOCHS, ...options.epochs };
  const model = { name: 'resnet18', width: 16, smallInput: true, ...options.model };
  const { dataset, transforms, inputShape, seed } = options;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    timings[name] = Math.round(performance.now() - started);
    return result;
  };
  const loader = (view: SourceDataset, batchSize: number, shuffle = false, pipeline = transforms) => new DataLoader(view, { batchSize, shuffle, seed, transforms: pipeline });
  const newNet = (classes: number, init: number): ImageClassifier => pipelineNet(model, classes, inputShape[0]!, init);
  const checkpoint = (name: string) => (options.outDir ? path.join(options.outDir, name) : undefined);

  // Step 1: the source task, 80% to train and 20% to validate.
  const task = targetTask(dataset, options);
  const { source, target } = task;
  const { train: sourceTrain, val: sourceVal } = trainValSplit(source, 0.2, seed);
  log(`Source task: ${source.classNames.join(', ')} (${sourceTrain.length} train, ${sourceVal.length} validation)`);
  log(`Target task: ${target.classNames.join(', ')} (${options.shots} labelled images per class)`);

  // Step 2: a source model from scratch, compared with naive ones.
  const majorityClass = (() => {
    const counts = new Array(source.classNames.length).fill(0) as number[];
    for (let i = 0; i < sourceTrain.length; i++) counts[sourceTrain.labelAt(i)]!++;
    return counts.indexOf(Math.max(...counts));
  })();
  const sourceValLabels = Array.from({ length: sourceVal.length }, (_, i) => sourceVal.labelAt(i));
  const majority = accuracyOf(sourceValLabels.map(() => majorityClass), sourceValLabels);
  seedInitializers(seed);
  const linear = new Sequential(new Flatten(), new Dense(numel(inputShape), source.classNames.length));
  const linearFit = await timed('linear-baseline', () => fit(linear, {
    epochs: epochs.linearBaseline, train: loader(sourceTrain, 64, true), val: loader(sourceVal, 256), inputShape,
    optimizer: { kind: 'adam', weightDecay: 1e-4 }, lr: 1e-3, log: quiet,
  }));
  const sourceNet = newNet(source.classNames.length, seed);
  log(`Step 2: training the source model (${model.name}, width ${model.width}) for ${epochs.source} epochs`);
  const sourceFit = await timed('source', () => fit(sourceNet, {
    epochs: epochs.source, train: loader(sourceTrain, 64, true, options.sourceAugmentation ?? transforms), val: loader(sourceVal, 256), inputShape,
    optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 5e-4 }, lr: 0.05, schedule: { kind: 'cosine' },
    checkpointDir: options.outDir, bestCheckpointName: 'source-best.ckpt', log,
  }));
  const sourceAccuracy = sourceFit.history[sourceFit.history.length - 1]!.valAccuracy;
  log(`Source model: ${sourceAccuracy.toFixed(3)} vs majority class ${majority.toFixed(3)} and linear on pixels ${linearFit.bestAccuracy.toFixed(3)}` +
    (sourceAccuracy > Math.max(majority, linearFit.bestAccuracy) ? ' (beats both)' : ' (DOES NOT beat the naive models)'));

  // The few labelled target images, and all the others to measure on.
  const { labelled, evaluation, batchSize: batch } = task;
  let int8Report: Int8Report | undefined;
  const int8: Int8Options | undefined = options.precision === 'int8'
    ? {
      ...calibrationSamples(labelled, { calibration: DEFAULT_CALIBRATION_IMAGES, heldOut: DEFAULT_AGREEMENT_IMAGES, seed, name: 'the labelled target images', transforms },
        { dataset: evaluation, name: 'the target evaluation images' }),
      onReport: (report) => {
        int8Report ??= report;
        log(`  ${describeInt8(report)}`);
      },
      // Fixed-feature training, its evaluation and both feature extractions run one backbone graph: calibrated once.
      builds: new Int8Builds(),
    }
    : undefined;
  const classes = target.classNames.length;
  const results: StudyResult['target'] = [];
  let best: StudyDetails['bestEvaluation'];
  const record = (method: TargetMethod, accuracy: number, ev?: Evaluation) => {
    results.push({ method, accuracy });
    log(`  ${method.padEnd(16)} ${accuracy.toFixed(3)}`);
    if (ev && (!best || ev.accuracy > best.evaluation.accuracy)) best = { method, evaluation: ev };
  };
  const study: TargetStudy = {
    options, epochs, sourceNet, classes, batch, labelled, shots: options.shots, seed, inputShape,
    newNet, loader, checkpoint,
    trainTarget: () => loader(labelled, batch, true),
    evalTarget: () => loader(evaluation, 256),
    fromSource: () => transferredNet(model, inputShape[0]!, source.classNames.length, classes, seed, (net) => copyWeights(sourceNet, net)),
    // The target fits keep best.ckpt only: nothing resumes them, and a last.ckpt per epoch was
    // ~300 fsynced writes (about 8 s of the demo).
    targetFit: { inputShape, log: quiet, cacheFeatures: 'auto', keepLast: false },
    int8,
  };
  log(`Steps 3-4: ${labelled.length} labelled target images, ${evaluation.length} to evaluate on`);
  // The target methods are independent, and their steps (10 images) too small to keep two threads
  // busy: two methods at a time, on one thread each. The demo model's 10-image step, 2026-12-01
  // (AMD EPYC, 2 cores, quiet): 37.4 / 63.7 ms alone on two threads, 46-48 / 52-53 ms each in two
  // processes on one thread each (1.6-2.4x the steps per second). onnxruntime-node runs a session
  // on the calling JS thread, so the sessions run in worker threads; two methods on the JS thread
  // only took turns (the demo 146 s instead of 129).
  const cores = defaultThreads();
  const atOnce = Math.max(1, Math.min(options.methodsAtOnce ?? 2, cores, TARGET_METHODS.length));
  const longestFirst = [...TARGET_METHODS].sort((a, b) => b.cost(epochs) - a.cost(epochs));
  const scoredByRow = await withSessionDefaults({ threads: Math.max(1, Math.floor(cores / atOnce)), inWorker: atOnce > 1 }, () => mapLimited(longestFirst, atOnce, (row) => timed(row.step, async (): Promise<Scored[]> => {
    const outcome = await row.run(study);
    if ('scores' in outcome) return outcome.scores.map(([method, accuracy]) => ({ method, accuracy }));
    try {
      const ev = await evaluate(outcome.net, study.evalTarget(), inputShape, { int8: outcome.int8, int8Stages: outcome.int8Stages });
      return [{ method: outcome.method, accuracy: ev.accuracy, ev }];
    } finally {
      await outcome.release?.();
    }
  })));
  // In TARGET_METHODS order, whichever finished first.
  for (const row of TARGET_METHODS) for (const { method, accuracy, ev } of scoredByRow[longestFirst.indexOf(row)]!) record(method, accuracy, ev);

  return {
    source: { accuracy: sourceAccuracy, baselines: { majority, linear: linearFit.bestAccuracy } },
    target: results,
    sourceClasses: [...source.classNames],
    targetClasses: [...target.classNames],
    targetClassIndices: options.targetClasses,
    shots: options.shots,
    seed,
    sourceHistory: sourceFit.history,
    bestEvaluation: best,
    timingsMs: timings,
    precision: options.precision ?? 'float32',
    ...(int8Report ? { int8: int8Report } : {}),
  };
}

/** A target method's accuracy on the held-out target images (with the evaluation, where one network was evaluated). */
interface Scored {
  method: TargetMethod;
  accuracy: number;
  ev?: Evaluation;
}

/** What a target method works from: the source model, the few labelled target images and the shared settings. */
interface TargetStudy {
  options: StudyOptions;
  epochs: StudyEpochs;
  sourceNet: ImageClassifier;
  classes: number;
  batch: number;
  labelled: SourceDataset;
  shots: number;
  seed: number;
  inputShape: [number, number, number];
  newNet(classes: number, init: number): ImageClassifier;
  loader(view: SourceDataset, batchSize: number, shuffle?: boolean): DataLoader;
  checkpoint(method: string): string | undefined;
  trainTarget(): DataLoader;
  evalTarget(): DataLoader;
  /** A copy of the source model with a new head for the target classes. */
  fromSource(): ImageClassifier;
  targetFit: { inputShape: [number, number, number]; log: (line: string) => void; cacheFeatures: 'auto'; keepLast: false };
  /** The int8 source backbone for the methods that keep it frozen (precision int8). */
  int8?: Int8Options;
}

/** A trained network to evaluate on the target's held-out images, or scores measured another way. */
type TargetOutcome = { method: TargetMethod; net: ImageClassifier; int8?: Int8Options; int8Stages?: number; release?: () => Promise<void> } | { scores: Array<[TargetMethod, number]> };

interface TargetMethodRow {
  /** The step's name in the timings of results.json. */
  step: string;
  /** Training epochs through the whole network (what the method's time grows with): the longest start first. */
  cost(epochs: StudyEpochs): number;
  run(study: TargetStudy): Promise<TargetOutcome>;
}

const SGD_MOMENTUM = { kind: 'momentum', momentum: 0.9, weightDecay: 5e-4 } as const;

/** Fine-tuning: head first, then everything at a lower rate for the pretrained body. */
function fineTuneOptions(study: TargetStudy) {
  return {
    ...study.targetFit, epochs: study.epochs.finetune, headEpochs: study.epochs.finetuneHead, headLr: 0.05, train: study.trainTarget(),
    optimizer: SGD_MOMENTUM, lr: study.options.finetune?.lr ?? 0.02, bodyLrScale: study.options.finetune?.bodyLrScale ?? 0.5, schedule: { kind: 'cosine' as const },
  };
}

/**
 * Steps 3 and 4 and what they are compared with, in the order they run: adding a method is adding
 * a row (and its name to TargetMethod).
 */
export const TARGET_METHODS: readonly TargetMethodRow[] = [
  {
    step: 'scratch',
    cost: (e) => e.scratch,
    run: async (study) => {
      const net = study.newNet(study.classes, study.seed + 2);
      await fit(net, { ...study.targetFit, epochs: study.epochs.scratch, train: study.trainTarget(), optimizer: SGD_MOMENTUM, lr: 0.05, schedule: { kind: 'cosine' }, checkpointDir: study.checkpoint('scratch') });
      return { method: 'scratch', net };
    },
  },
  {
    // Step 3: reuse the source model with fixed features.
    step: 'fixed-feature',
    cost: () => 0,
    run: async (study) => {
      const net = study.fromSource();
      const result = await trainFixedFeature(net, { ...study.targetFit, ...FIXED_FEATURE_RECIPE, epochs: study.epochs.fixedFeature, train: study.trainTarget(), checkpointDir: study.checkpoint('fixed-feature'), int8: study.int8 });
      return { method: 'fixed-feature', net, int8: study.int8, int8Stages: result.frozenStages };
    },
  },
  {
    // Feature-based transfer: source features, separate target models.
    step: 'feature-based',
    cost: () => 0,
    run: async (study) => {
      const labelledFeatures = await extractFeatures(study.sourceNet, study.loader(study.labelled, 64), study.inputShape, 'flatten', study.int8);
      const evalFeatures = await extractFeatures(study.sourceNet, study.evalTarget(), study.inputShape, 'flatten', study.int8);
      const softmax = await SoftmaxRegression.train(labelledFeatures, labelledFeatures.labels, { classes: study.classes, epochs: study.epochs.featureSoftmax, batchSize: study.batch, seed: study.seed });
      const softmaxAccuracy = accuracyOf(await softmax.predict(evalFeatures), evalFeatures.labels);
      const knn = new KNearestNeighbours(labelledFeatures, labelledFeatures.labels, study.classes, Math.min(5, study.shots));
      return { scores: [['feature-softmax', softmaxAccuracy], ['feature-knn', accuracyOf(knn.predict(evalFeatures), evalFeatures.labels)]] };
    },
  },
  {
    // Step 4: fine-tune the source model on the target.
    step: 'finetune',
    cost: (e) => e.finetune,
    run: async (study) => {
      const net = study.fromSource();
      await fineTune(net, { ...fineTuneOptions(study), checkpointDir: study.checkpoint('finetune') });
      return { method: 'finetune', net };
    },
  },
  {
    // Relation-based: fine-tune while keeping the source model's relations between samples.
    step: 'finetune-rkd',
    cost: (e) => e.finetune,
    run: async (study) => {
      // A training step follows each teacher run at once: its threads must not spin into it (session.ts).
      const teacher = await InferenceRunner.create(study.sourceNet, study.inputShape, { until: 'flatten', spinning: false });
      try {
        const net = study.fromSource();
        const rkd = rkdExtraLoss(study.sourceNet.featureChannels, study.options.rkdWeights ?? PAPER_RKD_WEIGHTS);
        const embeddings = new TeacherEmbeddings(teacher, study.sourceNet.featureChannels, numel(study.inputShape));
        await fineTune(net, {
          ...fineTuneOptions(study), checkpointDir: study.checkpoint('finetune-rkd'),
          extra: { ...rkd, featureStage: 'flatten' },
          extraFeeds: async ({ indices, images }) => ({ rkd_teacher: await embeddings.of(indices, images) }),
          cacheFeatures: false,
        });
        return { method: 'finetune-rkd', net, release: () => teacher.release() };
      } catch (error) {
        await teacher.release();
        throw error;
      }
    },
  },
];

/** The earlier name of runTransferStudy. */
export const runPipeline = runTransferStudy;
/** The earlier names of the study's types. */
export type PipelineResult = StudyResult;
export type PipelineDetails = StudyDetails;
export type PipelineOptions = StudyOptions;
export type PipelineEpochs = StudyEpochs;
