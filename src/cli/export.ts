import type { Command } from 'commander';
import { loadModel } from '../models/registry.js';
import { exportInferenceOnnx } from '../transfer/export.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import { imageSizeOption, modelOption, numClassesOption, padModeOption, precisionOption, requireFloat32, type Precision } from './shared-options.js';

interface ExportCliOptions {
  model: string;
  numClasses?: number;
  padMode?: PadMode;
  imageSize: number;
  precision?: Precision;
  out: string;
  withSoftmax?: boolean;
}

export async function exportModel(weights: string, options: ExportCliOptions): Promise<{ out: string; bytes: number; classes: number }> {
  requireFloat32(options.precision, 'export');
  const { net } = await loadModel(options.model, { weights, numClasses: options.numClasses, padMode: options.padMode });
  const size = options.imageSize;
  const bytes = exportInferenceOnnx(net, { inputShape: [net.conv1.inChannels, size, size], withSoftmax: options.withSoftmax, name: options.model });
  await writeFileAtomic(options.out, bytes);
  const fc = net.fc.namedParameters().find(([name]) => name === 'weight');
  return { out: options.out, bytes: bytes.length, classes: fc ? fc[1].shape[0]! : 0 };
}

export function register(program: Command): void {
  program
    .command('export')
    .description("write an inference ONNX model: input 'input' [batch, C, H, W] float32 (normalized like the val transforms), output 'output' logits")
    .argument('<weights>', 'best.ckpt from tlkit train, a .safetensors file, or a registry name such as resnet50-mindspore')
    .addOption(modelOption())
    .addOption(numClassesOption())
    .addOption(padModeOption())
    .addOption(imageSizeOption('input height and width'))
    .addOption(precisionOption())
    .option('--with-softmax', "also output 'probabilities' (softmax of the logits)")
    .option('--out <file>', 'ONNX file to write', 'model.onnx')
    .action(async (weights: string, options: ExportCliOptions) => {
      const result = await exportModel(weights, options);
      process.stdout.write(`wrote ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.classes} classes)\n`);
    });
}
