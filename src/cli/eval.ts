import type { Command } from 'commander';
import type { DataLoader } from '../data/loader.js';
import { loadModel } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import { confusionMatrix, macroAverage, perClassMetrics, type ClassMetrics } from '../report/metrics.js';
import { InferenceRunner } from '../runtime/inference.js';
import { EvaluationAccumulator, type Evaluation } from '../train/evaluate.js';
import { evalLoader, evaluationFolder, optionalPositiveInt, parsePadMode, positiveInt } from './shared-options.js';

export interface FolderEvaluation {
  evaluation: Evaluation;
  /** The first `keepImages` normalized CHW images, in evaluation order. */
  images: Float32Array[];
}

/** Runs a network in inference mode over a loader, keeping the first images (for prediction grids). */
export async function evaluateWithImages(net: Module, loader: DataLoader, inputShape: readonly number[], keepImages: number, limit = Infinity): Promise<FolderEvaluation> {
  const runner = await InferenceRunner.create(net, inputShape);
  const accumulator = new EvaluationAccumulator();
  const images: Float32Array[] = [];
  const per = inputShape.reduce((a, b) => a * b, 1);
  let seen = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const out = await runner.run(batch.images, batch.labels.length);
      accumulator.add(out.data, out.shape[1]!, batch.labels, batch.indices);
      for (let i = 0; i < batch.labels.length && images.length < keepImages; i++) images.push(batch.images.slice(i * per, (i + 1) * per));
      seen += batch.labels.length;
      if (seen >= limit) break;
    }
  } finally {
    await runner.release();
  }
  return { evaluation: accumulator.finish(), images };
}

/** The model's class count must match the folder's, else every label would be misread. */
export function checkClassCount(modelClasses: number, classNames: readonly string[], weights: string | undefined, folder: string): void {
  if (modelClasses !== classNames.length) {
    throw new Error(`${weights ?? 'the model'} has ${modelClasses} output classes but ${folder} has ${classNames.length} (${classNames.join(', ')})`);
  }
}

export function headClasses(net: { numClasses(): number }): number {
  return net.numClasses();
}

interface EvalOptions {
  model: string;
  weights: string;
  numClasses?: string;
  padMode?: string;
  imageSize: string;
  batchSize: string;
  json?: boolean;
}

export interface EvalReport {
  folder: string;
  images: number;
  accuracy: number;
  loss: number;
  classes: ClassMetrics[];
  macro: { precision: number | null; recall: number | null; f1: number | null };
  confusion: number[][];
}

export async function evalFolder(dir: string, options: EvalOptions): Promise<EvalReport> {
  const folder = await evaluationFolder(dir);
  const { net } = await loadModel(options.model, {
    weights: options.weights,
    numClasses: optionalPositiveInt(options.numClasses, '--num-classes'),
    padMode: parsePadMode(options.padMode),
  });
  checkClassCount(headClasses(net), folder.classNames, options.weights, folder.root);
  const size = positiveInt(options.imageSize, '--image-size');
  const loader = evalLoader(folder, positiveInt(options.batchSize, '--batch-size'), size);
  const { evaluation } = await evaluateWithImages(net, loader, [net.inChannels, size, size], 0);
  const classNames = [...folder.classNames];
  const confusion = confusionMatrix(evaluation.labels, evaluation.predicted, classNames.length);
  const classes = perClassMetrics(confusion, classNames);
  return {
    folder: folder.root, images: evaluation.labels.length, accuracy: evaluation.accuracy, loss: evaluation.loss, classes,
    macro: { precision: macroAverage(classes, 'precision'), recall: macroAverage(classes, 'recall'), f1: macroAverage(classes, 'f1') },
    confusion,
  };
}

const shown = (v: number | null) => (v === null ? '  -  ' : v.toFixed(3));

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy, loss and per-class precision/recall/F1 of a model on an image folder (the tutorial\'s val transforms)')
    .argument('<folder>', 'an image folder with one sub-folder per class, or a dataset folder with val/ inside')
    .requiredOption('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152')
    .requiredOption('--weights <file>', 'weights: best.ckpt from tlkit train, a .safetensors file, or a registry name')
    .option('--num-classes <n>', 'classes of the head (default: from the weights)')
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming")
    .option('--image-size <n>', 'crop size (images are resized to size+32, then center-cropped)', '224')
    .option('--batch-size <n>', 'images per run', '16')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, options: EvalOptions) => {
      const report = await evalFolder(dir, options);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const out: string[] = [
        `${report.folder}: ${report.images} images`,
        `Accuracy: [${report.accuracy.toFixed(3)}], Loss: [${report.loss.toFixed(3)}]`,
        '',
        `${'class'.padEnd(20)} precision  recall     f1  support`,
        ...report.classes.map((c) => `${c.className.padEnd(20)} ${shown(c.precision).padStart(9)} ${shown(c.recall).padStart(7)} ${shown(c.f1).padStart(6)} ${String(c.support).padStart(8)}`),
        `${'macro average'.padEnd(20)} ${shown(report.macro.precision).padStart(9)} ${shown(report.macro.recall).padStart(7)} ${shown(report.macro.f1).padStart(6)} ${String(report.images).padStart(8)}`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
