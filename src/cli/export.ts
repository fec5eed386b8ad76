import type { Command } from 'commander';
import * as path from 'node:path';
import { imageSizeOf, inChannelsOf, isOnnxPath, loadNetwork, normalizationOf } from '../onnx-import/network.js';
import { describeInt8, type Int8Report } from '../runtime/int8.js';
import { exportInferenceOnnx, exportInt8Onnx } from '../transfer/export.js';
import { headClasses } from '../transfer/strategies.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import {
  calibrateOnOption, calibrationImagesOption, int8Options, intOption, modelOption, parsedOption, numClassesOption, padModeOption, precisionOption, type Precision, onnxNormalizationOption } from './shared-options.js';

interface ExportCliOptions {
  model: string;
  mean?: number[];
  std?: number[];
  numClasses?: number;
  padMode?: PadMode;
  imageSize?: number;
  precision?: Precision;
  calibrationImages?: number;
  calibrateOn?: string;
  out: string;
  withSoftmax?: boolean;
}

export async function exportModel(weights: string | undefined, options: ExportCliOptions): Promise<{ out: string; bytes: number; classes: number; int8?: Int8Report }> {
  if (!weights && !isOnnxPath(options.model)) throw new Error(`give the weights to export (best.ckpt, .safetensors or a registry name) for ${options.model}`);
  const { net } = await loadNetwork(options.model, { weights, numClasses: options.numClasses, padMode: options.padMode, mean: options.mean, std: options.std });
  const size = imageSizeOf(net, options.imageSize);
  const name = isOnnxPath(options.model) ? path.basename(options.model, path.extname(options.model)) : options.model;
  const channels = inChannelsOf(net);
  const exportOptions = { inputShape: [channels, size, size], withSoftmax: options.withSoftmax, name, normalization: normalizationOf(net) };
  const int8 = await int8Options(options, { imageSize: size, channels, seed: 0, normalize: normalizationOf(net) });
  const quantized = int8 ? await exportInt8Onnx(net, { ...exportOptions, int8 }) : undefined;
  const bytes = quantized?.bytes ?? exportInferenceOnnx(net, exportOptions);
  await writeFileAtomic(options.out, bytes);
  return { out: options.out, bytes: bytes.length, classes: headClasses(net), ...(quantized ? { int8: quantized.report } : {}) };
}

export function register(program: Command): void {
  program
    .command('export')
    .description("write an inference ONNX model: input 'input' [batch, C, H, W] float32 (normalized like the val transforms), output 'output' logits")
    .argument('[weights]', 'best.ckpt from tlkit train, a .safetensors file, or a registry name such as resnet50-mindspore (optional with an .onnx --model)')
    .addOption(modelOption())
    .addOption(numClassesOption())
    .addOption(padModeOption())
    .addOption(intOption('--image-size <n>', 'input height and width (default: 224, or the .onnx model\'s input size)'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .addOption(precisionOption())
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('required with int8: a folder of training images, or a dataset folder whose train/ is used'))
    .option('--with-softmax', "also output 'probabilities' (softmax of the logits)")
    .option('--out <file>', 'ONNX file to write', 'model.onnx')
    .action(async (weights: string | undefined, options: ExportCliOptions) => {
      const result = await exportModel(weights, options);
      process.stdout.write(`wrote ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.classes} classes)${result.int8 ? `; ${describeInt8(result.int8)}` : ''}\n`);
    });
}
