import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readNpy } from '../io/npy.js';
import { toFloat32 } from '../io/dtype.js';
import { loadModel } from '../models/registry.js';
import { imageSizeOf, inChannelsOf, interpolationOf, isOnnxPath, loadNetwork, normalizationOf, resizeOf, type TransferNetwork } from '../onnx-import/network.js';
import { compose, evalTransforms } from '../data/transforms.js';
import { IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { ImageFiles } from '../data/image-files.js';
import { DataLoader } from '../data/loader.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import { formatShape, numel } from '../tensor.js';
import { collectOutputs, withRunner, type InputStream, type RunnerFactory } from '../train/infer.js';
import { createCachedInferenceRunner } from '../runtime/session-cache.js';
import { softmax } from '../train/metrics.js';
import { TestTimeAugmentation } from '../train/tta.js';
import { describeInt8 } from '../runtime/int8.js';
import {
  batchSizeOption, calibrateOnOption, calibrationImagesOption, int8Options, intOption, modelOption, parsedOption, numClassesOption, padModeOption, precisionOption, weightsOption,
  type Precision, onnxNormalizationOption } from './shared-options.js';

export interface Prediction {
  source: string;
  index: number;
  label: number;
  className?: string;
  logits: number[];
  probabilities: number[];
}

interface PredictOptions {
  model: string;
  mean?: number[];
  std?: number[];
  weights?: string;
  numClasses?: number;
  padMode?: PadMode;
  imageSize?: number;
  classNames?: string;
  batchSize: number;
  precision?: Precision;
  calibrationImages?: number;
  calibrateOn?: string;
  tta?: boolean;
  json?: boolean;
}

/** A raw NCHW float32 tensor from a .npy file, checked against the model's channels. */
async function npyInputs(file: string, channels: number): Promise<{ data: Float32Array; shape: number[] }> {
  const tensor = await readNpy(file);
  const shape = tensor.shape.length === 3 ? [1, ...tensor.shape] : tensor.shape;
  if (shape.length !== 4) throw new Error(`${file}: expected an NCHW tensor of rank 4 (or CHW of rank 3), got shape ${formatShape(tensor.shape)}`);
  if (shape[1] !== channels) throw new Error(`${file}: the model takes ${channels} channels, the tensor ${formatShape(tensor.shape)} has ${shape[1]}`);
  return { data: toFloat32(tensor), shape };
}

async function imageFiles(input: string): Promise<string[]> {
  const stat = await fs.stat(input).catch(() => {
    throw new Error(`${input}: no such file or folder`);
  });
  if (!stat.isDirectory()) return [input];
  const out: string[] = [];
  for (const entry of (await fs.readdir(input, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(input, entry.name);
    if (entry.isDirectory()) out.push(...(await imageFiles(full)));
    else if (IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

export async function predict(inputs: string[], options: PredictOptions): Promise<Prediction[]> {
  let net: TransferNetwork;
  let create: RunnerFactory | undefined;
  if (isOnnxPath(options.model)) {
    net = (await loadNetwork(options.model, { weights: options.weights, numClasses: options.numClasses, mean: options.mean, std: options.std })).net;
  } else {
    const { net: resnet, report, weightsPath } = await loadModel(options.model, { weights: options.weights, numClasses: options.numClasses, padMode: options.padMode });
    net = resnet;
    // Every value from the file: the next process reads ORT's optimized model back from the session cache.
    const fromFile = weightsPath !== undefined && report !== undefined && report.missing.length === 0 && report.mismatched.length === 0;
    create = fromFile ? (n, shape, o) => createCachedInferenceRunner(n, shape, weightsPath, o) : undefined;
  }
  const channels = inChannelsOf(net);
  const classNames = options.classNames?.split(',');
  const size = imageSizeOf(net, options.imageSize);
  const { batchSize } = options;
  const results: Prediction[] = [];
  const int8 = await int8Options(options, {
    imageSize: size, channels, seed: 0, normalize: normalizationOf(net), onReport: (report) => process.stderr.write(`${describeInt8(report)}\n`),
  });
  const classify = async (sampleShape: number[], stream: InputStream, source: (index: number) => { source: string; index: number }) => {
    if (int8 && sampleShape.join() !== [channels, size, size].join()) {
      throw new Error(`--precision int8 calibrates on ${size}x${size} images; these inputs are ${formatShape(sampleShape)} (give --image-size to match)`);
    }
    const outputs = await withRunner(net, sampleShape, (runner) => collectOutputs(options.tta ? new TestTimeAugmentation(runner, sampleShape) : runner, stream), { create, int8 });
    for (let row = 0; row < outputs.rows; row++) {
      const logits = Array.from(outputs.values.subarray(row * outputs.dimension, (row + 1) * outputs.dimension));
      const probabilities = softmax(logits);
      const label = probabilities.indexOf(Math.max(...probabilities));
      results.push({ ...source(outputs.indices[row]!), label, className: classNames?.[label], logits, probabilities });
    }
  };
  for (const input of inputs) {
    if (input.toLowerCase().endsWith('.npy')) {
      const { data, shape } = await npyInputs(input, channels);
      await classify(shape.slice(1), tensorBatches(data, shape, batchSize), (index) => ({ source: input, index }));
      continue;
    }
    const files = await imageFiles(input);
    if (files.length === 0) continue;
    const transforms = compose(evalTransforms(size, normalizationOf(net), resizeOf(net, size), interpolationOf(net)), { channels: channels === 1 ? 1 : 3 });
    await classify([channels, size, size], new DataLoader(new ImageFiles(files), { batchSize, transforms, decodedCache: 0 }), (index) => ({ source: files[index]!, index: 0 }));
  }
  return results;
}

/** Batches of a raw NCHW tensor, as a loader would give them. */
function tensorBatches(data: Float32Array, shape: number[], batchSize: number): InputStream {
  const [n, ...sample] = shape as [number, ...number[]];
  const per = numel(sample);
  const starts = Array.from({ length: Math.ceil(n / batchSize) }, (_, k) => k * batchSize);
  return {
    steps: starts.length,
    epoch: async function* () {
      for (const start of starts) {
        const count = Math.min(batchSize, n - start);
        yield { images: data.subarray(start * per, (start + count) * per), labels: new Int32Array(count), indices: Int32Array.from({ length: count }, (_, i) => start + i) };
      }
    },
  };
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify .npy tensors (raw NCHW float32), images or folders of images')
    .argument('<inputs...>', '.npy files, image files or folders')
    .addOption(modelOption())
    .addOption(weightsOption())
    .addOption(numClassesOption())
    .addOption(padModeOption())
    .addOption(intOption('--image-size <n>', 'crop size for image inputs (resized to size+32, then center-cropped; default: 224, or the .onnx model\'s input size)'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .option('--class-names <list>', 'comma-separated class names for the output')
    .addOption(batchSizeOption('samples per run'))
    .addOption(precisionOption())
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('required with int8: a folder of training images, or a dataset folder whose train/ is used'))
    .option('--tta', 'test-time augmentation: average the predictions of each input and its mirror image')
    .option('--json', 'print a JSON array, one object per sample')
    .action(async (inputs: string[], options: PredictOptions) => {
      const predictions = await predict(inputs, options);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(predictions)}\n`);
        return;
      }
      for (const p of predictions) {
        const name = p.className ?? String(p.label);
        process.stdout.write(`${p.source}${p.source.endsWith('.npy') ? `[${p.index}]` : ''}\t${name}\t${p.probabilities[p.label]!.toFixed(4)}\n`);
      }
    });
}
