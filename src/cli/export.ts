import type { Command } from 'commander';
import { loadModel } from '../models/registry.js';
import { exportInferenceOnnx } from '../transfer/export.js';
import { writeFileAtomic } from '../util/atomic.js';
import { optionalPositiveInt, parsePadMode, positiveInt } from './shared-options.js';

interface ExportCliOptions {
  model: string;
  numClasses?: string;
  padMode?: string;
  imageSize: string;
  out: string;
  withSoftmax?: boolean;
}

export async function exportModel(weights: string, options: ExportCliOptions): Promise<{ out: string; bytes: number; classes: number }> {
  const { net } = await loadModel(options.model, {
    weights, numClasses: optionalPositiveInt(options.numClasses, '--num-classes'), padMode: parsePadMode(options.padMode),
  });
  const size = positiveInt(options.imageSize, '--image-size');
  const bytes = exportInferenceOnnx(net, { inputShape: [net.inChannels, size, size], withSoftmax: options.withSoftmax, name: options.model });
  await writeFileAtomic(options.out, bytes);
  return { out: options.out, bytes: bytes.length, classes: net.numClasses() };
}

export function register(program: Command): void {
  program
    .command('export')
    .description("write an inference ONNX model: input 'input' [batch, C, H, W] float32 (normalized like the val transforms), output 'output' logits")
    .argument('<weights>', 'best.ckpt from tlkit train, a .safetensors file, or a registry name such as resnet50-mindspore')
    .option('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152', 'resnet50')
    .option('--num-classes <n>', 'classes of the head (default: from the weights)')
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming")
    .option('--image-size <n>', 'input height and width', '224')
    .option('--with-softmax', "also output 'probabilities' (softmax of the logits)")
    .option('--out <file>', 'ONNX file to write', 'model.onnx')
    .action(async (weights: string, options: ExportCliOptions) => {
      const result = await exportModel(weights, options);
      process.stdout.write(`wrote ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.classes} classes)\n`);
    });
}
