import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { IMAGENET_MEAN_255, IMAGENET_STD_255 } from '../data/transforms.js';
import { readWeights } from '../io/weights.js';
import { loadParamIntoNet } from '../io/load-params.js';
import { createModel, loadModel } from '../models/registry.js';
import type { ImageClassifier } from '../models/classifier.js';
import { seedInitializers } from '../nn/init.js';
import {
  readRunRecord, renderPredictionGrid, startDashboard, writeReport, writeRunImages, writeRunRecord,
  PREDICTIONS_PNG, type Dashboard, type EpochRecord as RunEpoch, type RunRecord,
} from '../report/index.js';
import { fit, type EpochRecord, type FitOptions, type FitResult } from '../train/fit.js';
import { parseSchedule } from '../train/schedules.js';
import { fineTune, replaceHead, trainFixedFeature } from '../transfer/strategies.js';
import { writeFileAtomic } from '../util/atomic.js';
import { evaluateWithImages } from './eval.js';
import {
  evalLoader, nonNegativeInt, nonNegativeNumber, OPTIMIZER_KINDS, parseOptimizer, parsePadMode, positiveInt, positiveNumber, trainLoader, trainValFolders,
} from './shared-options.js';

export const TRAIN_MODES = ['fixed-feature', 'finetune', 'scratch'] as const;
export type TrainMode = (typeof TRAIN_MODES)[number];

interface TrainOptions {
  model: string;
  pretrained?: string;
  mode: string;
  epochs: string;
  batchSize: string;
  lr: string;
  momentum: string;
  imageSize: string;
  fromStage?: string;
  freeze?: string;
  bnFrozen?: boolean;
  bnTrain?: boolean;
  bodyLrScale?: string;
  headEpochs?: string;
  schedule: string;
  optimizer: string;
  weightDecay: string;
  avgPool?: string;
  out: string;
  resume?: boolean;
  seed: string;
  augment: boolean;
  padMode?: string;
  dashboard?: boolean;
  progress?: boolean;
}

/** Side of layer4's output: each of the five stride-2 steps rounds up ('same' and torchvision's padding agree). */
function finalMapSize(imageSize: number): number {
  let side = imageSize;
  for (let i = 0; i < 5; i++) side = Math.ceil(side / 2);
  return side;
}

function toRunEpoch(record: EpochRecord): RunEpoch {
  const { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, epochMs, stepMs } = record;
  return { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, epochMs, stepMs };
}

/** The network to train: pretrained weights with a new head of `classes` outputs, or random weights. */
async function buildNetwork(options: TrainOptions, mode: TrainMode, classes: number, log: (line: string) => void): Promise<ImageClassifier> {
  const padMode = parsePadMode(options.padMode);
  if (mode === 'scratch') {
    if (options.pretrained) throw new Error('--mode scratch trains from random weights; drop --pretrained (or use --mode finetune)');
    return createModel(options.model, { numClasses: classes, padMode });
  }
  if (!options.pretrained) {
    log(`warning: no --pretrained weights: ${mode} starts from a randomly initialised ${options.model}`);
    return createModel(options.model, { numClasses: classes, padMode });
  }
  const { net } = await loadModel(options.model, { weights: options.pretrained, padMode });
  // The tutorial's `net.fc = nn.Dense(in_channels, 2)`, whatever head the weights came with.
  return replaceHead(net, classes);
}

export async function train(dataDir: string, options: TrainOptions): Promise<{ result: FitResult; outDir: string }> {
  if (!(TRAIN_MODES as readonly string[]).includes(options.mode)) throw new Error(`--mode must be one of ${TRAIN_MODES.join(', ')}, got "${options.mode}"`);
  const mode = options.mode as TrainMode;
  if (options.bnFrozen && options.bnTrain) throw new Error('--bn-frozen and --bn-train contradict each other: give one');
  const epochs = positiveInt(options.epochs, '--epochs');
  const batchSize = positiveInt(options.batchSize, '--batch-size');
  const lr = positiveNumber(options.lr, '--lr');
  const momentum = nonNegativeNumber(options.momentum, '--momentum');
  const imageSize = positiveInt(options.imageSize, '--image-size');
  const seed = nonNegativeInt(options.seed, '--seed');
  const optimizer = parseOptimizer(options.optimizer, momentum, nonNegativeNumber(options.weightDecay, '--weight-decay'));
  const schedule = parseSchedule(options.schedule);
  const bodyLrScale = options.bodyLrScale === undefined ? undefined : positiveNumber(options.bodyLrScale, '--body-lr-scale');
  const headEpochs = options.headEpochs === undefined ? undefined : nonNegativeInt(options.headEpochs, '--head-epochs');
  if (mode !== 'finetune' && (options.fromStage || options.freeze || bodyLrScale !== undefined || headEpochs !== undefined)) {
    throw new Error('--from-stage, --freeze, --body-lr-scale and --head-epochs apply to --mode finetune only');
  }
  if (options.avgPool !== undefined) {
    const kernel = positiveInt(options.avgPool, '--avg-pool');
    const side = finalMapSize(imageSize);
    if (kernel !== side) {
      throw new Error(`--avg-pool ${kernel} pools a ${kernel}x${kernel} window, but at --image-size ${imageSize} layer4's output is ${side}x${side}; tlkit pools it globally (the tutorial's AvgPool2d(7) at 224 px)`);
    }
  }

  const log = (line: string) => process.stdout.write(`${line}\n`);
  const { train: trainFolder, val: valFolder } = await trainValFolders(dataDir);
  const classNames = [...trainFolder.classNames];
  seedInitializers(seed);
  const net = await buildNetwork(options, mode, classNames.length, (line) => process.stderr.write(`${line}\n`));
  const inputShape = [net.inChannels, imageSize, imageSize];
  const outDir = options.out;
  await fs.mkdir(outDir, { recursive: true });

  const config: Record<string, unknown> = {
    command: 'tlkit train', data: path.resolve(dataDir), model: options.model, pretrained: options.pretrained ?? null, mode, epochs, batchSize, lr,
    optimizer: optimizer.kind, momentum, weightDecay: Number(options.weightDecay), schedule: options.schedule, imageSize, augment: options.augment, seed,
    padMode: net.padMode, trainImages: trainFolder.length, valImages: valFolder.length,
    ...(mode === 'finetune' ? { fromStage: options.fromStage ?? null, freeze: options.freeze ?? null, bodyLrScale: bodyLrScale ?? 1, headEpochs: headEpochs ?? 0 } : {}),
    bnTraining: options.bnTrain ? true : options.bnFrozen ? false : mode !== 'fixed-feature',
  };
  let history: RunEpoch[] = [];
  if (options.resume) history = await readRunRecord(outDir).then((r) => r.history, () => []);
  const record = (): RunRecord => ({ config, classNames, history });
  await writeRunRecord(outDir, record());
  let dashboard: Dashboard | undefined;
  if (options.dashboard) {
    dashboard = await startDashboard(outDir);
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
    train: trainLoader(trainFolder, batchSize, imageSize, { augment: options.augment, seed }),
    val: evalLoader(valFolder, batchSize, imageSize),
    checkpointDir: outDir, resume: options.resume, log, progress: options.progress ?? process.stderr.isTTY, signal: controller.signal,
    onEpochEnd: async (epochRecord) => {
      history = [...history.filter((h) => h.epoch < epochRecord.epoch), toRunEpoch(epochRecord)];
      await writeRunRecord(outDir, record());
      dashboard?.notifyUpdate();
    },
  };
  log('Start Training Loop ...');
  let result: FitResult;
  try {
    if (mode === 'fixed-feature') {
      result = await trainFixedFeature(net, { ...fitOptions, backboneBnTraining: options.bnTrain ?? false });
    } else if (mode === 'finetune') {
      const freeze = options.freeze?.split(',').map((p) => p.trim()).filter(Boolean);
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

  if (!result.interrupted) await finishRun(net, { outDir, result, valFolder, batchSize, imageSize, seed, inputShape, classNames, record });
  await dashboard?.close();
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
}

/** Evaluates best.ckpt on val, then writes run.json with the evaluation, predictions.png and report.html. */
async function finishRun(net: ImageClassifier, context: FinishContext): Promise<void> {
  const { outDir, result, inputShape, classNames } = context;
  if (result.bestCheckpoint) {
    const best = await fs.stat(result.bestCheckpoint).then(() => true, () => false);
    if (best) loadParamIntoNet(net, await readWeights(result.bestCheckpoint), { strict: false });
  }
  net.eval();
  // Shuffled like the tutorial's val dataset (shuffle=True), so the grid shows more than the first class.
  const loader = evalLoader(context.valFolder, context.batchSize, context.imageSize, { shuffle: true, seed: context.seed });
  const { evaluation, images } = await evaluateWithImages(net, loader, inputShape, 12);
  const shape = inputShape as [number, number, number];
  const normalization = { mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255 };
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
  process.stdout.write(`best.ckpt on val: accuracy ${evaluation.accuracy.toFixed(3)}, loss ${evaluation.loss.toFixed(3)}; report: ${report}\n`);
}

export function register(program: Command): void {
  program
    .command('train')
    .description('transfer-train a ResNet on an image dataset, like the MindSpore dogs-vs-wolves tutorial')
    .argument('<data-dir>', 'dataset folder with train/ and val/ image folders (one sub-folder per class), e.g. datasets-Canidae/data/Canidae')
    .option('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152', 'resnet50')
    .option('--pretrained <weights>', 'registry name (resnet50-mindspore) or a .ckpt/.safetensors file; the head is replaced by Dense(features, classes in train/)')
    .option('--mode <mode>', 'fixed-feature (train fc only, tutorial 3.3), finetune, or scratch (random weights)', 'fixed-feature')
    .option('--epochs <n>', 'epochs', '5')
    .option('--batch-size <n>', 'images per step', '18')
    .option('--lr <rate>', 'learning rate', '0.001')
    .option('--momentum <m>', 'momentum of the Momentum optimizer', '0.5')
    .option('--optimizer <kind>', `${OPTIMIZER_KINDS.join(', ')} (momentum = MindSpore nn.Momentum)`, 'momentum')
    .option('--weight-decay <wd>', 'L2 weight decay (decoupled for adamw)', '0')
    .option('--schedule <s>', 'learning-rate schedule: constant, step:EPOCHS:GAMMA, cosine, one-cycle', 'constant')
    .option('--image-size <n>', 'training crop size; val images are resized to size+32 and center-cropped', '224')
    .option('--no-augment', 'train on the val transforms (resize + center crop) instead of random crops and flips; fixed-feature training then computes the backbone features once and caches them')
    .option('--from-stage <stage>', 'finetune: train from this stage on (layer4, layer3.5, fc); earlier stages stay frozen')
    .option('--freeze <patterns>', 'finetune: comma-separated parameter name patterns to keep frozen (layer1.*, **.norm*)')
    .option('--bn-frozen', 'BN layers use their moving statistics and are not updated (default for fixed-feature)')
    .option(
      '--bn-train',
      'BN layers use batch statistics and update their moving averages (default for finetune). With fixed-feature this is what the tutorial does: its frozen backbone still runs BN in training mode, so features depend on the batch and the whole backbone runs as a training graph each step (much slower, no feature cache); tlkit\'s default freezes BN too, making the backbone a fixed function',
    )
    .option('--body-lr-scale <x>', 'finetune: learning-rate multiplier for the pretrained body relative to the new head', undefined)
    .option('--head-epochs <n>', 'finetune: first train the new head alone for this many epochs')
    .option('--avg-pool <k>', "accepted for the tutorial's AvgPool2d(kernel_size=7): tlkit's global average pool is the same at 224 px")
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming, 'same' without weights")
    .option('--out <dir>', 'folder for best.ckpt, last.ckpt and the run record (run.json, predictions.png, report.html)', './BestCheckpoint')
    .option('--resume', 'continue from last.ckpt in --out')
    .option('--seed <n>', 'seed of the new head, shuffling and augmentation', '0')
    .option('--dashboard', 'serve a live report on 127.0.0.1 while training')
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', '\nCtrl-C stops after the current step (exit code 130); best.ckpt and last.ckpt keep the last complete epoch.')
    .action(async (dataDir: string, options: TrainOptions) => {
      const { result } = await train(dataDir, options);
      if (result.interrupted) process.exitCode = 130;
    });
}
