import * as path from 'node:path';
import type { Command } from 'commander';
import { imageSizeOf, inChannelsOf, isOnnxPath, loadNetwork, normalizationOf } from '../onnx-import/network.js';
import { renderPredictionGrid } from '../report/grid.js';
import { writeFileAtomic } from '../util/atomic.js';
import { evaluateWithImages } from '../train/evaluate.js';
import { checkClassCount, headClasses } from '../transfer/strategies.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import { describeInt8 } from '../runtime/int8.js';
import {
  calibrateOnOption, calibrationImagesOption, evalLoader, evaluationFolder, int8Options, intOption, modelOption, numClassesOption, padModeOption, precisionOption,
  parsedOption, seedOption, weightsOption, type Precision, onnxNormalizationOption } from './shared-options.js';

interface VisualizeOptions {
  model: string;
  mean?: number[];
  std?: number[];
  weights?: string;
  numClasses?: number;
  padMode?: PadMode;
  imageSize?: number;
  out: string;
  rows: number;
  cols: number;
  seed: number;
  precision?: Precision;
  calibrationImages?: number;
  calibrateOn?: string;
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
  if (!options.weights && !isOnnxPath(options.model)) throw new Error(`--weights is required for ${options.model} (an .onnx model brings its own)`);
  const folder = await evaluationFolder(dir);
  const { net } = await loadNetwork(options.model, { weights: options.weights, numClasses: options.numClasses, padMode: options.padMode, mean: options.mean, std: options.std });
  checkClassCount(headClasses(net), folder.classNames, options.weights ?? options.model, folder.root);
  const { rows, cols } = options;
  const size = imageSizeOf(net, options.imageSize);
  const normalization = normalizationOf(net);
  const count = Math.min(rows * cols, folder.length);
  const loader = evalLoader(folder, count, size, { shuffle: options.shuffle, seed: options.seed, normalize: normalization, decodedCache: 0 });
  const shape: [number, number, number] = [inChannelsOf(net), size, size];
  const int8 = await int8Options(options, {
    calibration: folder, imageSize: size, channels: shape[0], seed: 0, normalize: normalization, onReport: (report) => process.stderr.write(`${describeInt8(report)}\n`),
  });
  const { evaluation, images } = await evaluateWithImages(net, loader, shape, count, { limit: count, int8 });
  const classNames = [...folder.classNames];
  const png = await renderPredictionGrid({
    images, shape, ...normalization, predicted: evaluation.predicted, actual: evaluation.labels, classNames,
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
    .addOption(modelOption())
    .addOption(weightsOption('weights: best.ckpt from tlkit train, a .safetensors file, or a registry name (required unless --model is an .onnx file)'))
    .addOption(numClassesOption())
    .addOption(padModeOption())
    .addOption(intOption('--image-size <n>', 'crop size (images are resized to size+32, then center-cropped; default: 224, or the .onnx model\'s input size)'))
    .addOption(precisionOption())
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('default: the shown folder, apart from the agreement images'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .option('--out <file>', 'PNG to write', 'predictions.png')
    .addOption(intOption('--rows <n>', 'grid rows', 2))
    .addOption(intOption('--cols <n>', 'grid columns', 2))
    .addOption(seedOption("shuffle seed (the tutorial's val set is shuffled)"))
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
