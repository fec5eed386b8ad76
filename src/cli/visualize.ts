import * as path from 'node:path';
import type { Command } from 'commander';
import { IMAGENET_MEAN_255, IMAGENET_STD_255 } from '../data/transforms.js';
import { loadModel } from '../models/registry.js';
import { renderPredictionGrid } from '../report/grid.js';
import { writeFileAtomic } from '../util/atomic.js';
import { checkClassCount, evaluateWithImages, headClasses } from './eval.js';
import { evalLoader, evaluationFolder, nonNegativeInt, optionalPositiveInt, parsePadMode, positiveInt } from './shared-options.js';

interface VisualizeOptions {
  model: string;
  weights: string;
  numClasses?: string;
  padMode?: string;
  imageSize: string;
  out: string;
  rows: string;
  cols: string;
  seed: string;
  shuffle: boolean;
  json?: boolean;
}

export interface ShownPrediction {
  path: string;
  actual: string;
  predicted: string;
  right: boolean;
  probability: number;
}

/**
 * The tutorial's visualize_model: the first batch of the val set through the model, each image
 * titled `predict:<class>`, blue when right and red when wrong, written as one PNG.
 */
export async function visualize(dir: string, options: VisualizeOptions): Promise<ShownPrediction[]> {
  const folder = await evaluationFolder(dir);
  const { net } = await loadModel(options.model, {
    weights: options.weights, numClasses: optionalPositiveInt(options.numClasses, '--num-classes'), padMode: parsePadMode(options.padMode),
  });
  checkClassCount(headClasses(net), folder.classNames, options.weights, folder.root);
  const rows = positiveInt(options.rows, '--rows');
  const cols = positiveInt(options.cols, '--cols');
  const size = positiveInt(options.imageSize, '--image-size');
  const count = Math.min(rows * cols, folder.length);
  const loader = evalLoader(folder, count, size, { shuffle: options.shuffle, seed: nonNegativeInt(options.seed, '--seed') });
  const shape: [number, number, number] = [net.inChannels, size, size];
  const { evaluation, images } = await evaluateWithImages(net, loader, shape, count, count);
  const classNames = [...folder.classNames];
  const png = await renderPredictionGrid({
    images, shape, mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255, predicted: evaluation.predicted, actual: evaluation.labels, classNames,
    rows: Math.ceil(count / cols), cols: Math.min(cols, count),
  });
  await writeFileAtomic(options.out, png);
  return evaluation.indices.map((index, i) => ({
    path: folder.samples[index]!.path,
    actual: classNames[evaluation.labels[i]!]!,
    predicted: classNames[evaluation.predicted[i]!]!,
    right: evaluation.labels[i] === evaluation.predicted[i],
    probability: evaluation.probabilities[i]![evaluation.predicted[i]!]!,
  }));
}

export function register(program: Command): void {
  program
    .command('visualize')
    .description("the tutorial's visualize_model: predictions on the first val batch as a PNG grid, titles blue when right, red when wrong")
    .argument('<folder>', 'the val image folder (one sub-folder per class), or a dataset folder with val/ inside')
    .option('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152', 'resnet50')
    .requiredOption('--weights <file>', 'weights: best.ckpt from tlkit train, a .safetensors file, or a registry name')
    .option('--num-classes <n>', 'classes of the head (default: from the weights)')
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming")
    .option('--image-size <n>', 'crop size (resize to size+32, center crop)', '224')
    .option('--out <file>', 'PNG to write', 'predictions.png')
    .option('--rows <n>', 'grid rows', '2')
    .option('--cols <n>', 'grid columns', '2')
    .option('--seed <n>', "shuffle seed (the tutorial's val set is shuffled)", '0')
    .option('--no-shuffle', 'take the first images in folder order')
    .option('--json', 'print the shown predictions as JSON')
    .action(async (dir: string, options: VisualizeOptions) => {
      const shown = await visualize(dir, options);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(shown)}\n`);
        return;
      }
      for (const p of shown) process.stdout.write(`${p.path}\tpredict:${p.predicted}\t${p.right ? 'right' : `wrong (is ${p.actual})`}\n`);
      process.stdout.write(`wrote ${path.resolve(options.out)}\n`);
    });
}
