/**
 * The pipeline's few-shot target task and its fixed-feature transfer as plain functions, so the
 * `tlkit web` page reproduces `tlkit pipeline`'s fixed-feature row from the same code.
 */
import type { SourceDataset } from '../data/dataset.js';
import type { DatasetView } from '../data/dataset.js';
import { fewShotSplit, splitByClass } from '../data/splits.js';
import type { LrSchedule } from '../train/schedules.js';
import type { OptimizerConfig } from '../graph/optim.js';
import { seedInitializers } from '../nn/init.js';
import { createModel } from '../models/factories.js';
import type { ImageClassifier } from '../models/classifier.js';
import { replaceHead } from './strategies.js';

export interface PipelineModel {
  name: string;
  width?: number;
  smallInput?: boolean;
}

/** `tlkit pipeline`'s defaults (cli/pipeline.ts): Fashion-MNIST classes 0,1,3,5,8 to learn from, 2,4,6,7,9 to transfer to. */
export const PIPELINE_TASK = { sourceClasses: [0, 1, 3, 5, 8], targetClasses: [2, 4, 6, 7, 9], shots: 10, seed: 1 } as const;
export const PIPELINE_MODEL: PipelineModel = { name: 'resnet18', width: 16, smallInput: true };

/** Step 3's recipe: momentum SGD at 0.05 with a cosine schedule (60 epochs at --epoch-scale 1). */
export const FIXED_FEATURE_RECIPE: { optimizer: OptimizerConfig; lr: number; schedule: LrSchedule } = {
  optimizer: { kind: 'momentum', momentum: 0.9 }, lr: 0.05, schedule: { kind: 'cosine' },
};

export function batchSizeFor(n: number, preferred: number): number {
  for (let b = Math.min(preferred, n); b >= Math.ceil(preferred / 2); b--) if (n % b === 0) return b;
  return Math.min(preferred, n);
}

export interface TargetTask {
  source: DatasetView;
  target: DatasetView;
  /** `shots` images per target class to train on, and all the others to measure on. */
  labelled: DatasetView;
  evaluation: DatasetView;
  batchSize: number;
}

export function targetTask(dataset: SourceDataset, options: { sourceClasses: readonly (string | number)[]; targetClasses: readonly (string | number)[]; shots: number; seed: number }): TargetTask {
  const source = splitByClass(dataset, options.sourceClasses).target;
  const target = splitByClass(dataset, options.targetClasses).target;
  const { labelled, evaluation } = fewShotSplit(target, options.shots, options.seed);
  return { source, target, labelled, evaluation, batchSize: batchSizeFor(labelled.length, 16) };
}

/** A pipeline network: seeded He initialization (fan-out), as every pipeline model starts. */
export function pipelineNet(model: PipelineModel, classes: number, inChannels: number, init: number): ImageClassifier {
  seedInitializers(init);
  return createModel(model.name, { numClasses: classes, inChannels, width: model.width, smallInput: model.smallInput, weightInit: { kind: 'he-normal', mode: 'fan-out' } });
}

/** The source model's weights under a new, seeded head for the target classes (the pipeline's `fromSource`). */
export function transferredNet(model: PipelineModel, inChannels: number, sourceClasses: number, targetClasses: number, seed: number, loadSource: (net: ImageClassifier) => void): ImageClassifier {
  const net = pipelineNet(model, sourceClasses, inChannels, seed);
  loadSource(net);
  seedInitializers(seed + 1);
  return replaceHead(net, targetClasses);
}
