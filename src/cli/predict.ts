import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readNpy } from '../io/npy.js';
import { toFloat32 } from '../io/dtype.js';
import { loadModel } from '../models/registry.js';
import { InferenceRunner } from '../runtime/inference.js';
import { compose, evalTransforms } from '../data/transforms.js';
import { IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { softmax } from '../train/metrics.js';
import { optionalPositiveInt, parsePadMode, positiveInt } from './shared-options.js';

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
  weights?: string;
  numClasses?: string;
  padMode?: string;
  imageSize: string;
  classNames?: string;
  batchSize: string;
  json?: boolean;
}

/** A raw NCHW float32 tensor from a .npy file, checked against the model's channels. */
async function npyInputs(file: string, channels: number): Promise<{ data: Float32Array; shape: number[] }> {
  const tensor = await readNpy(file);
  const shape = tensor.shape.length === 3 ? [1, ...tensor.shape] : tensor.shape;
  if (shape.length !== 4) throw new Error(`${file}: expected an NCHW tensor of rank 4 (or CHW of rank 3), got shape [${tensor.shape.join(', ')}]`);
  if (shape[1] !== channels) throw new Error(`${file}: the model takes ${channels} channels, the tensor [${tensor.shape.join(', ')}] has ${shape[1]}`);
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
  const { net } = await loadModel(options.model, {
    weights: options.weights,
    numClasses: optionalPositiveInt(options.numClasses, '--num-classes'),
    padMode: parsePadMode(options.padMode),
  });
  const channels = net.inChannels;
  const classNames = options.classNames?.split(',');
  const size = positiveInt(options.imageSize, '--image-size');
  const batchSize = positiveInt(options.batchSize, '--batch-size');
  const results: Prediction[] = [];
  let runner: InferenceRunner | null = null;
  const runnerFor = async (shape: number[]) => {
    if (!runner || runner.inputShape.join() !== shape.join()) {
      await runner?.release();
      runner = await InferenceRunner.create(net, shape);
    }
    return runner;
  };
  const emit = (source: string, logits: Float32Array, classes: number, offset: number) => {
    for (let i = 0; i * classes < logits.length; i++) {
      const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
      const probabilities = softmax(row);
      const label = probabilities.indexOf(Math.max(...probabilities));
      results.push({ source, index: offset + i, label, className: classNames?.[label], logits: row, probabilities });
    }
  };
  try {
    for (const input of inputs) {
      if (input.toLowerCase().endsWith('.npy')) {
        const { data, shape } = await npyInputs(input, channels);
        const r = await runnerFor(shape.slice(1));
        const per = shape.slice(1).reduce((a, b) => a * b, 1);
        for (let start = 0; start < shape[0]!; start += batchSize) {
          const n = Math.min(batchSize, shape[0]! - start);
          const out = await r.run(data.subarray(start * per, (start + n) * per), n);
          emit(input, out.data, out.shape[1]!, start);
        }
        continue;
      }
      const pipeline = compose(evalTransforms(size), { channels: channels === 1 ? 1 : 3 });
      for (const file of await imageFiles(input)) {
        const image = await pipeline.apply({ kind: 'file', path: file }).catch((error: Error) => {
          throw new Error(`${file}: cannot read the image (${error.message})`);
        });
        const out = await (await runnerFor(image.shape)).run(image.data, 1);
        emit(file, out.data, out.shape[1]!, 0);
      }
    }
  } finally {
    await (runner as InferenceRunner | null)?.release();
  }
  return results;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify .npy tensors (raw NCHW float32), images or folders of images')
    .argument('<inputs...>', '.npy files, image files or folders')
    .requiredOption('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152')
    .option('--weights <file>', 'weights: .ckpt, .safetensors, or a registry name such as resnet50-mindspore')
    .option('--num-classes <n>', 'classes of the head (default: from the weights)')
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming")
    .option('--image-size <n>', 'crop size for image inputs', '224')
    .option('--class-names <list>', 'comma-separated class names for the output')
    .option('--batch-size <n>', 'samples per run', '16')
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
