import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { SkippedFiles } from '../data/bad-images.js';
import { readWeights } from '../io/weights.js';
import { loadParamIntoNet } from '../io/load-params.js';
import { createModel, loadModel } from '../models/registry.js';
import { ImportedModel } from '../onnx-import/model.js';
import { imageSizeOf, inChannelsOf, isOnnxPath, loadNetwork, normalizationOf, type TransferNetwork } from '../onnx-import/network.js';
import { seedInitializers } from '../nn/init.js';
import {
  readRunRecord, renderPredictionGrid, startDashboard, writeReport, writeRunImages, writeRunRecord,
  PREDICTIONS_PNG, type Dashboard, type EpochRecord as RunEpoch, type RunRecord,
} from '../report/index.js';
import { DashboardUpdates, EarlyStopping, RunRecordWriter, type Callback } from '../train/callbacks/index.js';
import { evaluateWithImages, type Evaluation } from '../train/evaluate.js';
import { evaluateOnFeatures } from '../train/cached-evaluation.js';
import { DatasetView } from '../data/dataset.js';
import { describeInt8, type Int8Options, type Int8Report } from '../runtime/int8.js';
import { fit, type FitOptions, type FitResult } from '../train/fit.js';
import { describeSchedule, parseSchedule, type LrSchedule } from '../train/schedules.js';
import { fineTune, freezeBackbone, replaceHead, trainFixedFeature, unfreezeForFineTune } from '../transfer/strategies.js';
import type { ImageFolder } from '../data/image-folder.js';
import type { DataLoader } from '../data/loader.js';
import type { DecodedCache } from '../data/decoded-cache.js';
import type { OptimizerConfig } from '../graph/optim.js';
import type { MixOptions } from '../train/callbacks/mixing.js';
import { findLearningRate } from '../train/lr-finder.js';
import { ensureFolder, writeFileAtomic } from '../util/atomic.js';
import { trace } from '../util/trace.js';
import { explainWriteFault, lockOutFolder } from './run-folder.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import {
  addDataFlags, decodedCacheOf, imageFolderOptions, strictDataError, type DataFlags,
  amountOption, batchSizeOption, choiceOption, countOption, evalLoader, flagged, intOption, modelOption, OPTIMIZER_KINDS, padModeOption, parsedOption, parseOptimizer,
  positiveNumber, precisionOption, rateOption, seedOption, trainLoader as trainLoaderOf, trainValFolders, weightsOption, type OptimizerKind, type Precision,
  calibrateOnOption, calibrationImagesOption, int8Options, onnxNormalizationOption } from './shared-options.js';

export const TRAIN_MODES = ['fixed-feature', 'finetune', 'scratch'] as const;
export type TrainMode = (typeof TRAIN_MODES)[number];

/** What train and lr-find share: the data, the model, what is trained and how. */
export interface SetupOptions extends DataFlags {
  model: string;
  mean?: number[];
  std?: number[];
  weights?: string;
  /** The earlier name of --weights. */
  pretrained?: string;
  mode: TrainMode;
  batchSize: number;
  momentum: number;
  imageSize?: number;
  cut?: string;
  fromStage?: string;
  freeze?: string;
  bnFrozen?: boolean;
  bnTrain?: boolean;
  bodyLrScale?: number;
  optimizer: OptimizerKind;
  weightDecay: number;
  seed: number;
  augment: boolean;
  padMode?: PadMode;
  precision: Precision;
  accumulate: number;
  classWeights?: number[] | 'balanced';
  mixup?: number;
  cutmix?: number;
  /** The run's epochs (train); lr-find, which steps through batches until it has its curve, leaves it out. */
  epochs?: number;
}

interface TrainOptions extends SetupOptions {
  calibrationImages?: number;
  calibrateOn?: string;
  epochs: number;
  lr: number | 'auto';
  headEpochs?: number;
  schedule: LrSchedule;
  avgPool?: number;
  out: string;
  resume?: boolean;
  earlyStopping?: number;
  earlyStoppingMetric: 'accuracy' | 'loss';
  dashboard?: boolean;
  progress?: boolean;
}

function parseClassWeights(value: string, flag: string): number[] | 'balanced' {
  if (value === 'balanced') return value;
  const weights = value.split(',').map((part) => Number(part.trim()));
  if (weights.length < 2 || weights.some((w) => !Number.isFinite(w) || w < 0)) throw new Error(`${flag} must be 'balanced' or one number >= 0 per class (e.g. 1,3.5), got "${value}"`);
  return weights;
}

/** Side of layer4's output: each of the five stride-2 steps rounds up ('same' and torchvision's padding agree). */
function finalMapSize(imageSize: number): number {
  let side = imageSize;
  for (let i = 0; i < 5; i++) side = Math.ceil(side / 2);
  return side;
}

/** The network to train: pretrained weights with a new head of `classes` outputs, or random weights. */
async function buildNetwork(options: SetupOptions, weights: string | undefined, classes: number, log: (line: string) => void): Promise<TransferNetwork> {
  const { mode, padMode } = options;
  if (isOnnxPath(options.model)) {
    if (mode === 'scratch') throw new Error(`--mode scratch trains a registry architecture from random weights; ${options.model} brings its own weights (use fixed-feature or finetune)`);
    // The file holds the weights; --weights may name the best.ckpt of an earlier run on it.
    const { net } = await loadNetwork(options.model, { weights, cut: options.cut, imageSize: options.imageSize, mean: options.mean, std: options.std });
    return replaceHead(net, classes);
  }
  if (options.cut) throw new Error(`--cut applies to an .onnx --model; ${options.model} has stages (use --from-stage)`);
  if (mode === 'scratch') {
    if (weights) throw new Error('--mode scratch trains from random weights; drop --weights (or use --mode finetune)');
    return createModel(options.model, { numClasses: classes, padMode });
  }
  if (!weights) {
    log(`warning: no --weights: ${mode} starts from a randomly initialised ${options.model}`);
    return createModel(options.model, { numClasses: classes, padMode });
  }
  const { net } = await loadModel(options.model, { weights, padMode });
  // The tutorial's `net.fc = nn.Dense(in_channels, 2)`, whatever head the weights came with.
  return replaceHead(net, classes);
}

/** The data, the network and the training settings a command has once its options are checked. */
export interface TrainingSetup {
  weights?: string;
  optimizer: OptimizerConfig;
  mix?: MixOptions;
  skipped: SkippedFiles;
  strict: boolean;
  trainFolder: ImageFolder;
  valFolder: ImageFolder;
  classNames: string[];
  net: TransferNetwork;
  imageSize: number;
  normalize: ReturnType<typeof normalizationOf>;
  inputShape: number[];
  trainLoader: DataLoader;
  /** Shared by the run's train and validation loaders (--decoded-cache-mb). */
  decodedCache: DecodedCache | 0;
}

/**
 * Whether a training run decodes each image at most once, so that the decoded-image cache would only cost
 * (filling it is ~0.7 CPU ms a web photo more, decoded-cache.ts; 0.2 s of CPU on the tutorial's 300 images):
 * a single epoch, or fixed features without augmentation, whose frozen backbone's outputs fit keeps after the
 * first epoch for train and val. Fine-tuning reads the images again in its second phase.
 */
export function decodesEachImageOnce(run: { epochs?: number; mode: string; bnTrain?: boolean; augment: boolean; mixing: boolean }): boolean {
  return run.epochs === 1 || (run.mode === 'fixed-feature' && !run.bnTrain && !run.augment && !run.mixing);
}

/** Checks the shared options, opens the folders and builds the network; `beforeNetwork` runs in between (train's out-folder lock). */
export async function openTraining(dataDir: string, options: SetupOptions, beforeNetwork?: () => Promise<void>): Promise<TrainingSetup> {
  const { mode, momentum, seed, bodyLrScale } = options;
  if (options.bnFrozen && options.bnTrain) throw new Error('--bn-frozen and --bn-train contradict each other: give one');
  if (options.weights && options.pretrained && options.weights !== options.pretrained) throw new Error('--pretrained is another name for --weights: give one');
  const weights = options.weights ?? options.pretrained;
  if (options.precision === 'int8') {
    const trainsEverything = mode === 'scratch' ? '--mode scratch trains every layer'
      : mode === 'finetune' && !options.fromStage ? '--mode finetune without --from-stage trains every layer'
        : mode === 'fixed-feature' && options.bnTrain ? "--bn-train keeps the backbone's BN layers training"
          : undefined;
    if (trainsEverything) {
      throw new Error(`--precision int8 applies to frozen layers only, and ${trainsEverything}; allowed: --precision float32, or int8 with --mode fixed-feature or --mode finetune --from-stage <stage>`);
    }
  }
  const optimizer = { ...parseOptimizer(options.optimizer, momentum, options.weightDecay), ...(options.accumulate > 1 ? { accumulate: options.accumulate } : {}) };
  if (options.mixup !== undefined && options.cutmix !== undefined) throw new Error('--mixup and --cutmix are alternatives: give one');
  const mix = options.mixup !== undefined ? { kind: 'mixup' as const, alpha: options.mixup, seed } : options.cutmix !== undefined ? { kind: 'cutmix' as const, alpha: options.cutmix, seed } : undefined;
  if (mode !== 'finetune' && (options.fromStage || options.freeze || bodyLrScale !== undefined)) {
    throw new Error('--from-stage, --freeze, --body-lr-scale and --head-epochs apply to --mode finetune only');
  }
  const skipped = new SkippedFiles();
  const strict = options.strictData ?? false;
  const { train: trainFolder, val: valFolder } = await trainValFolders(dataDir, imageFolderOptions(options, skipped)).catch((error: unknown) => {
    throw strictDataError(error, dataDir);
  });
  await beforeNetwork?.();
  const classNames = [...trainFolder.classNames];
  seedInitializers(seed);
  const net = await buildNetwork(options, weights, classNames.length, (line) => process.stderr.write(`${line}\n`));
  const imageSize = imageSizeOf(net, options.imageSize);
  const normalize = normalizationOf(net);
  const inputShape = [inChannelsOf(net), imageSize, imageSize];
  const decodedCache = options.decodedCacheMb === undefined && decodesEachImageOnce({ ...options, mixing: mix !== undefined }) ? 0 : decodedCacheOf(options);
  const trainLoader = trainLoaderOf(trainFolder, options.batchSize, imageSize, { augment: options.augment, seed, skipped, strict, normalize, decodedCache });
  return { weights, optimizer, mix, skipped, strict, trainFolder, valFolder, classNames, net, imageSize, normalize, inputShape, trainLoader, decodedCache };
}

/** Freezes and unfreezes as the mode will train (lr-find sweeps what training will train). */
export function prepareMode(net: TransferNetwork, options: SetupOptions): Pick<FitOptions, 'bnTraining' | 'lrScale'> {
  if (options.mode === 'fixed-feature') return freezeBackbone(net, options.bnTrain ?? false);
  if (options.mode === 'finetune') return unfreezeForFineTune(net, { fromStage: options.fromStage, freeze: freezePatterns(options.freeze), bnTraining: !options.bnFrozen, bodyLrScale: options.bodyLrScale });
  net.unfreeze().train(true);
  return { bnTraining: true };
}

function freezePatterns(text: string | undefined): string[] | undefined {
  return text?.split(',').map((p) => p.trim()).filter(Boolean);
}

export async function train(dataDir: string, options: TrainOptions): Promise<{ result: FitResult; outDir: string }> {
  const { mode, epochs, batchSize, momentum, seed, bodyLrScale, headEpochs, schedule } = options;
  if (mode !== 'finetune' && headEpochs !== undefined) throw new Error('--from-stage, --freeze, --body-lr-scale and --head-epochs apply to --mode finetune only');
  if (options.avgPool !== undefined) {
    const kernel = options.avgPool;
    const side = finalMapSize(options.imageSize ?? 224);
    if (kernel !== side) {
      throw new Error(`--avg-pool ${kernel} pools a ${kernel}x${kernel} window, but at --image-size ${options.imageSize ?? 224} layer4's output is ${side}x${side}; tlkit pools it globally (the tutorial's AvgPool2d(7) at 224 px)`);
    }
  }

  trace('start-up (Node.js, modules, options)');
  const log = (line: string) => process.stdout.write(`${line}\n`);
  // The out folder is locked before the network is built, so a second run refuses at once.
  const outDir = options.out;
  let lock: Awaited<ReturnType<typeof lockOutFolder>> | undefined;
  const setup = await openTraining(dataDir, options, async () => {
    await ensureFolder(outDir);
    lock = await lockOutFolder(outDir, 'tlkit train', log);
  });
  const { weights, optimizer, mix, skipped, strict, trainFolder, valFolder, classNames, net, imageSize, normalize, inputShape } = setup;
  trace('data folders scanned, network built (weights drawn when first read)');
  let lr: number;
  if (options.lr === 'auto') {
    const found = await findLearningRate(net, { ...prepareMode(net, options), train: setup.trainLoader, inputShape, optimizer, classWeights: options.classWeights, mix });
    lr = found.suggestion;
    log(`lr-find: suggested learning rate ${lr.toExponential(2)} (valley of the smoothed loss over ${found.learningRates.length} steps)`);
  } else {
    lr = options.lr;
  }

  const config: Record<string, unknown> = {
    command: 'tlkit train', data: path.resolve(dataDir), model: options.model, pretrained: weights ?? null, mode, epochs, batchSize, lr, ...(options.lr === 'auto' ? { lrFind: true } : {}),
    optimizer: optimizer.kind, momentum, weightDecay: options.weightDecay, schedule: describeSchedule(schedule), imageSize, augment: options.augment, seed,
    ...(options.earlyStopping ? { earlyStopping: { patience: options.earlyStopping, metric: options.earlyStoppingMetric } } : {}),
    ...(options.accumulate > 1 ? { accumulate: options.accumulate, effectiveBatchSize: batchSize * options.accumulate } : {}),
    ...(options.classWeights ? { classWeights: options.classWeights } : {}),
    ...(mix ? { mix: { kind: mix.kind, alpha: mix.alpha } } : {}),
    padMode: net instanceof ImportedModel ? null : net.padMode, ...(net instanceof ImportedModel ? { cut: net.cut } : {}), trainImages: trainFolder.length, valImages: valFolder.length, strictData: strict, pixelLimit: trainFolder.pixelLimit,
    ...(mode === 'finetune' ? { fromStage: options.fromStage ?? null, freeze: options.freeze ?? null, bodyLrScale: bodyLrScale ?? 1, headEpochs: headEpochs ?? 0 } : {}),
    bnTraining: options.bnTrain ? true : options.bnFrozen ? false : mode !== 'fixed-feature',
    precision: options.precision ?? 'float32',
  };
  // Each frozen part's calibration and int8/float32 agreement, then the final evaluation's, go into run.json.
  const int8Reports: Record<string, Int8Report> = {};
  const int8 = await int8Options(options, {
    calibration: trainFolder, heldOut: valFolder, imageSize, channels: inChannelsOf(net), seed, normalize,
    onReport: (report) => {
      const count = Object.keys(int8Reports).length;
      int8Reports[count === 0 ? 'frozen' : `frozen${count + 1}`] = report;
      config.int8 = int8Reports;
      log(describeInt8(report));
    },
  });
  // How often this run calibrated, read the calibration cache and measured the agreement (each frozen part once).
  if (int8?.builds) config.int8Work = int8.builds.work;
  let history: RunEpoch[] = [];
  if (options.resume) history = await readRunRecord(outDir).then((r) => r.history, () => []);
  const runRecord = new RunRecordWriter(outDir, { config, classNames }, history, () => ({ skippedFiles: skipped.list() }));
  await runRecord.write();
  const callbacks: Callback[] = [runRecord];
  if (options.earlyStopping) callbacks.push(new EarlyStopping({ patience: options.earlyStopping, monitor: options.earlyStoppingMetric }));
  let dashboard: Dashboard | undefined;
  if (options.dashboard) {
    dashboard = await startDashboard(outDir);
    callbacks.push(new DashboardUpdates(dashboard));
    process.stderr.write(`dashboard: ${dashboard.url}\n`);
  }

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\nInterrupted: stopping after the current step (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);

  const fitOptions: FitOptions = {
    epochs, lr, optimizer, schedule, inputShape,
    train: setup.trainLoader,
    val: evalLoader(valFolder, batchSize, imageSize, { skipped, strict, normalize, decodedCache: setup.decodedCache }),
    checkpointDir: outDir, resume: options.resume, log, progress: options.progress ?? process.stderr.isTTY, signal: controller.signal, callbacks, int8,
    classWeights: options.classWeights, mix,
  };
  trace('lr-find, int8 samples, run record');
  log('Start Training Loop ...');
  let result: FitResult;
  try {
    if (mode === 'fixed-feature') {
      result = await trainFixedFeature(net, { ...fitOptions, backboneBnTraining: options.bnTrain ?? false });
    } else if (mode === 'finetune') {
      const freeze = freezePatterns(options.freeze);
      // A resumed run already went through the head phase; last.ckpt holds its weights.
      const phases = await fineTune(net, {
        ...fitOptions, fromStage: options.fromStage, freeze, bnTraining: !options.bnFrozen, bodyLrScale, headEpochs: options.resume ? 0 : headEpochs,
      });
      result = phases.body;
    } else {
      net.unfreeze().train(true);
      result = await fit(net, { ...fitOptions, bnTraining: true });
    }
  } finally {
    process.off('SIGINT', onSigint);
  }

  trace('epochs');
  if (!result.interrupted) await finishRun(net, { outDir, result, valFolder, batchSize, imageSize, seed, inputShape, classNames, record: () => runRecord.record(), skipped, int8, int8Reports });
  if (skipped.size > 0) log(`${skipped.size} data file${skipped.size === 1 ? '' : 's'} left out (warned above); ${path.join(outDir, 'run.json')} lists them`);
  await dashboard?.close();
  await lock?.release();
  return { result, outDir };
}

interface FinishContext {
  outDir: string;
  result: FitResult;
  valFolder: Parameters<typeof evalLoader>[0];
  batchSize: number;
  imageSize: number;
  seed: number;
  inputShape: number[];
  classNames: string[];
  record: () => RunRecord;
  skipped: SkippedFiles;
  int8?: Int8Options;
  int8Reports: Record<string, Int8Report>;
}

/** Evaluates best.ckpt on val, then writes run.json with the evaluation, predictions.png and report.html. */
async function finishRun(net: TransferNetwork, context: FinishContext): Promise<void> {
  const { outDir, result, inputShape, classNames } = context;
  if (result.bestCheckpoint) {
    const best = await fs.stat(result.bestCheckpoint).then(() => true, () => false);
    // An imported model's names are the file's: no renaming from other conventions.
    if (best) loadParamIntoNet(net, await readWeights(result.bestCheckpoint), { strict: false, convention: net instanceof ImportedModel ? 'mindspore' : 'auto' });
  }
  net.eval();
  // Shuffled like the tutorial's val dataset (shuffle=True), so the grid shows more than the first class.
  const loaderOf = (folder: Parameters<typeof evalLoader>[0], shuffle: boolean) =>
    evalLoader(folder, context.batchSize, context.imageSize, { shuffle, seed: context.seed, skipped: context.skipped, normalize: normalizationOf(net), decodedCache: 0 });
  const loader = loaderOf(context.valFolder, true);
  const { evaluation, images, int8 } = await finalEvaluation(net, result, loader, context, (indices) => loaderOf(new DatasetView(context.valFolder, indices), false));
  if (int8) context.int8Reports.evaluation = int8;
  trace('final evaluation (best.ckpt over val)');
  const shape = inputShape as [number, number, number];
  const normalization = normalizationOf(net);
  const imagesRecord = await writeRunImages(outDir, images, shape, normalization);
  const { labels, predicted, probabilities } = evaluation;
  await writeRunRecord(outDir, { ...context.record(), evaluation: { labels, predicted, probabilities }, images: imagesRecord });
  const shown = Math.min(4, images.length);
  const grid = await renderPredictionGrid({
    images: images.slice(0, shown), shape, ...normalization, predicted: predicted.slice(0, shown), actual: labels.slice(0, shown),
    classNames, rows: Math.ceil(shown / 2), cols: Math.min(2, shown),
  });
  await writeFileAtomic(path.join(outDir, PREDICTIONS_PNG), grid);
  const report = await writeReport(outDir);
  trace('run record, prediction grid, report');
  process.stdout.write(`best.ckpt on val: accuracy ${evaluation.accuracy.toFixed(3)}, loss ${evaluation.loss.toFixed(3)}; report: ${report}\n`);
}

const GRID_IMAGES = 12;

/**
 * best.ckpt over val. With a frozen prefix, from the val features validation computed (cached-evaluation.ts),
 * decoding only the grid's images; else the whole network over the loader, the frozen part at the precision
 * it was trained with (the int8 part is the graph training built, so the run's builds hand it back).
 */
async function finalEvaluation(
  net: TransferNetwork, result: FitResult, loader: ReturnType<typeof evalLoader>, context: FinishContext, gridLoader: (indices: Int32Array) => ReturnType<typeof evalLoader>,
): Promise<{ evaluation: Evaluation; images: Float32Array[]; int8?: Int8Report }> {
  const features = result.valFeatures;
  const evaluation = features && (await evaluateOnFeatures(net, features, result.frozenStages, loader.order(0), context.batchSize));
  if (!features || !evaluation) return evaluateWithImages(net, loader, context.inputShape, GRID_IMAGES, { int8: context.int8, int8Stages: result.frozenStages });
  const images: Float32Array[] = [];
  for await (const batch of gridLoader(Int32Array.from(evaluation.indices.slice(0, GRID_IMAGES))).epoch(0)) {
    const per = batch.images.length / batch.labels.length;
    for (let i = 0; i < batch.labels.length; i++) images.push(batch.images.slice(i * per, (i + 1) * per));
  }
  return { evaluation, images, ...(features.int8 ? { int8: features.int8 } : {}) };
}

function parseLearningRate(value: string, flag: string): number | 'auto' {
  return value === 'auto' ? value : positiveNumber(value, flag);
}

/** The options train and lr-find share (data, model, what is trained, optimizer, batch). */
export function addSetupOptions(command: Command): Command {
  command
    .addOption(modelOption())
    .option('--cut <tensor>', 'with an .onnx --model: the tensor whose values are the features (default: the input of its classifier; tlkit inspect model.onnx lists the cut points)')
    .addOption(weightsOption('registry name (resnet50-mindspore) or a .ckpt/.safetensors file; the head is replaced by Dense(features, classes in train/)'))
    .addOption(new Option('--pretrained <weights>', 'another name for --weights'))
    .addOption(choiceOption('--mode <mode>', 'fixed-feature (train fc only, tutorial 3.3), finetune, or scratch (random weights)', TRAIN_MODES, 'fixed-feature'))
    .addOption(batchSizeOption('images per step', 18))
    .addOption(amountOption('--momentum <m>', 'momentum of the Momentum optimizer', 0.5))
    .addOption(choiceOption('--optimizer <kind>', 'momentum = MindSpore nn.Momentum', OPTIMIZER_KINDS, 'momentum'))
    .addOption(amountOption('--weight-decay <wd>', 'L2 weight decay (decoupled for adamw)', 0))
    .addOption(intOption('--image-size <n>', 'training crop size; val images are resized to size+32 and center-cropped (default: 224, or the .onnx model\'s input size)'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .option('--no-augment', 'train on the val transforms (resize + center crop) instead of random crops and flips; fixed-feature training then computes the backbone features once and caches them')
    .option('--from-stage <stage>', 'finetune: train from this stage on (layer4, layer3.5, fc; for an .onnx model a tensor name: train from that tensor on); earlier stages stay frozen')
    .option('--freeze <patterns>', 'finetune: comma-separated parameter name patterns to keep frozen (layer1.*, **.norm*)')
    .option('--bn-frozen', 'BN layers use their moving statistics and are not updated (default for fixed-feature)')
    .option(
      '--bn-train',
      'BN layers use batch statistics and update their moving averages (default for finetune). With fixed-feature this is what the tutorial does: its frozen backbone still runs BN in training mode, so features depend on the batch and the whole backbone runs as a training graph each step (much slower, no feature cache); tlkit\'s default freezes BN too, making the backbone a fixed function',
    )
    .addOption(rateOption('--body-lr-scale <x>', 'finetune: learning-rate multiplier for the pretrained body relative to the new head'))
    .addOption(padModeOption("'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming, 'same' without weights"))
    .addOption(precisionOption())
    .addOption(intOption('--accumulate <n>', 'gradient accumulation: apply the mean gradient of this many batches at once (an effective batch n times --batch-size in the memory of one)', 1))
    .addOption(parsedOption('--class-weights <w>', "loss weight per class: 'balanced' (n / (classes * count), for imbalanced folders) or one number per class, comma-separated", parseClassWeights))
    .addOption(rateOption('--mixup <alpha>', 'train on mixup blends of image pairs, blend weight ~ Beta(alpha, alpha) (0.2-0.4 typical); turns the feature cache off'))
    .addOption(rateOption('--cutmix <alpha>', 'train on cutmix (a box from another image; Beta(alpha, alpha), 1 typical); turns the feature cache off'))
    .addOption(seedOption('seed of the new head, shuffling and augmentation'));
  return addDataFlags(command);
}

export function register(program: Command): void {
  const command = program
    .command('train')
    .description('transfer-train a model on an image dataset, like the MindSpore dogs-vs-wolves tutorial')
    .argument('<data-dir>', 'dataset folder with train/ and val/ image folders (one sub-folder per class), e.g. datasets-Canidae/data/Canidae');
  addSetupOptions(command)
    .addOption(intOption('--epochs <n>', 'epochs', 5))
    .addOption(parsedOption('--lr <rate>', "learning rate, or 'auto': run lr-find first and train at its suggestion", parseLearningRate, 0.001))
    .addOption(parsedOption('--schedule <s>', 'learning-rate schedule: constant, step:EPOCHS:GAMMA, cosine, one-cycle', flagged(parseSchedule)).default({ kind: 'constant' }, 'constant'))
    .addOption(countOption('--head-epochs <n>', 'finetune: first train the new head alone for this many epochs'))
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('default: the training images; the agreement is measured on val/'))
    .addOption(intOption('--avg-pool <k>', "accepted for the tutorial's AvgPool2d(kernel_size=7): tlkit's global average pool is the same at 224 px"))
    .addOption(intOption('--early-stopping <patience>', 'stop when the validation metric has not improved for this many epochs, and keep the best epoch\'s weights'))
    .addOption(choiceOption('--early-stopping-metric <m>', 'what --early-stopping watches: validation accuracy or loss', ['accuracy', 'loss'] as const, 'accuracy'))
    .option('--out <dir>', 'folder for best.ckpt, last.ckpt and the run record (run.json, predictions.png, report.html)', './BestCheckpoint')
    .option('--resume', 'continue from last.ckpt in --out')
    .option('--dashboard', 'serve a live report on 127.0.0.1 while training')
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', '\nCtrl-C stops after the current step (exit code 130); best.ckpt and last.ckpt keep the last complete epoch.')
    .action(async (dataDir: string, options: TrainOptions) => {
      const { result } = await train(dataDir, options).catch(async (error: unknown) => {
        throw await explainWriteFault(error, options.out);
      });
      if (result.interrupted) process.exitCode = 130;
    });
}
