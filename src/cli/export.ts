import type { Command } from 'commander';
import * as path from 'node:path';
import { imageSizeOf, inChannelsOf, isOnnxPath, loadNetwork, normalizationOf } from '../onnx-import/network.js';
import { exportInferenceOnnx } from '../transfer/export.js';
import { headClasses } from '../transfer/strategies.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import { intOption, modelOption, numClassesOption, padModeOption, precisionOption, requireFloat32, type Precision } from './shared-options.js';

interface ExportCliOptions {
  model: string;
  numClasses?: number;
  padMode?: PadMode;
  imageSize?: number;
  precision?: Precision;
  out: string;
  withSoftmax?: boolean;
}

export async function exportModel(weights: string | undefined, options: ExportCliOptions): Promise<{ out: string; bytes: number; classes: number }> {
  requireFloat32(options.precision, 'export');
  if (!weights && !isOnnxPath(options.model)) throw new Error(`give the weights to export (best.ckpt, .safetensors or a registry name) for ${options.model}`);
  const { net } = await loadNetwork(options.model, { weights, numClasses: options.numClasses, padMode: options.padMode });
  const size = imageSizeOf(net, options.imageSize);
  const name = isOnnxPath(options.model) ? path.basename(options.model, path.extname(options.model)) : options.model;
  const bytes = exportInferenceOnnx(net, { inputShape: [inChannelsOf(net), size, size], withSoftmax: options.withSoftmax, name, normalization: normalizationOf(net) });
  await writeFileAtomic(options.out, bytes);
  return { out: options.out, bytes: bytes.length, classes: headClasses(net) };
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
    .addOption(precisionOption())
    .option('--with-softmax', "also output 'probabilities' (softmax of the logits)")
    .option('--out <file>', 'ONNX file to write', 'model.onnx')
    .action(async (weights: string | undefined, options: ExportCliOptions) => {
      const result = await exportModel(weights, options);
      process.stdout.write(`wrote ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.classes} classes)\n`);
    });
}
