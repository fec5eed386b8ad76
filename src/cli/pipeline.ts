import * as path from 'node:path';
import type { Command } from 'commander';
import { runTransferStudy, DEFAULT_EPOCHS, type StudyEpochs } from '../transfer/pipeline.js';
import { loadPipelineData } from '../transfer/pipeline-data.js';
import { imageSizeOption, intOption, modelOption, precisionOption, rateOption, seedOption, type Precision } from './shared-options.js';
import { comparisonTable, pipelineJson, writePipelineOutputs, type WrittenOutputs } from '../transfer/pipeline-report.js';

export interface PipelineCommandOptions {
  data?: string;
  sourceClasses: string;
  targetClasses: string;
  shots: number;
  seed: number;
  model: string;
  width: number;
  imageSize: number;
  epochScale: number;
  precision?: Precision;
  out: string;
  augment?: boolean;
  json?: boolean;
}

function classList(text: string, flag: string, names: readonly string[]): number[] {
  const classes = text.split(',').map((part) => {
    const trimmed = part.trim();
    const index = /^\d+$/.test(trimmed) ? Number(trimmed) : names.indexOf(trimmed);
    if (index < 0 || index >= names.length) throw new Error(`${flag}: unknown class "${trimmed}"; classes are 0-${names.length - 1} (${names.join(', ')})`);
    return index;
  });
  if (classes.length < 2) throw new Error(`${flag} needs at least two classes, got "${text}"`);
  return classes;
}

/** Runs the four-step flow and writes its outputs; progress goes to stderr, so --json keeps stdout clean. */
export async function runPipelineCommand(options: PipelineCommandOptions, config: Record<string, unknown> = {}): Promise<WrittenOutputs & { text: string; jsonText: string }> {
  if (options.model.toLowerCase().endsWith('.onnx')) {
    throw new Error(`${options.model}: pipeline trains its source model from scratch on --data; to transfer from an .onnx model use tlkit train --model ${options.model} (fixed-feature or finetune) or tlkit features --model ${options.model}`);
  }
  const data = await loadPipelineData(options.data, options.imageSize).catch((error: Error) => {
    throw options.data ? new Error(`--data ${error.message}`) : error;
  });
  const sourceClasses = classList(options.sourceClasses, '--source-classes', data.dataset.classNames);
  const targetClasses = classList(options.targetClasses, '--target-classes', data.dataset.classNames);
  const overlap = sourceClasses.filter((c) => targetClasses.includes(c));
  if (overlap.length) throw new Error(`--source-classes and --target-classes share ${overlap.map((c) => data.dataset.classNames[c]).join(', ')}`);
  const scale = options.epochScale;
  const epochs = Object.fromEntries(Object.entries(DEFAULT_EPOCHS).map(([k, v]) => [k, Math.max(1, Math.round(v * scale))])) as unknown as StudyEpochs;
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`Data: ${data.description}`);
  const details = await runTransferStudy({
    dataset: data.dataset, transforms: data.transforms, sourceAugmentation: options.augment === false ? undefined : data.augmentation, inputShape: data.inputShape,
    sourceClasses, targetClasses, shots: options.shots, seed: options.seed,
    model: { name: options.model, width: options.width, smallInput: data.inputShape[1] <= 64 },
    epochs, outDir: path.join(options.out, 'checkpoints'), log, precision: options.precision,
  });
  const outputs = await writePipelineOutputs(options.out, details, data, { ...config, model: options.model, width: options.width, epochs, wallSeconds: Math.round((performance.now() - started) / 1000) });
  return { ...outputs, text: comparisonTable(details), jsonText: JSON.stringify(pipelineJson(details)) };
}

export function addPipelineOptions(command: Command, defaults: { out: string }): Command {
  return command
    .option('--data <path>', 'an ImageFolder, or an IDX pair "images.gz,labels.gz" (default: the shipped Fashion-MNIST test split)')
    .option('--source-classes <list>', 'classes of the source task (indices or names)', '0,1,3,5,8')
    .option('--target-classes <list>', 'classes of the target task', '2,4,6,7,9')
    .addOption(intOption('--shots <n>', 'labelled images per target class', 10))
    .addOption(seedOption('seed for splits, initialization and shuffling', 1))
    .addOption(modelOption('resnet18'))
    .addOption(intOption('--width <n>', 'channels of layer1 (64 = the standard ResNet)', 16))
    .addOption(imageSizeOption('image size for ImageFolder data', 64))
    .addOption(rateOption('--epoch-scale <x>', 'multiply every epoch count (0.2 for a quick look)', 1))
    .addOption(precisionOption('float32, or int8: the frozen source backbone of fixed-feature and feature-based transfer as an int8 QDQ graph, calibrated on the labelled target images'))
    .option('--no-augment', 'train the source model without random crops and flips')
    .option('--out <dir>', 'where checkpoints, the table, the prediction grid and the report go', defaults.out);
}

export function register(program: Command): void {
  addPipelineOptions(program.command('pipeline').description('the four-step transfer flow: source model vs naive baselines, then scratch / fixed features / feature-based / fine-tuning / RKD on a few-shot target'), { out: 'tlkit-pipeline' })
    .option('--json', 'print only the JSON result on stdout (progress goes to stderr)')
    .action(async (options: PipelineCommandOptions) => {
      const result = await runPipelineCommand(options);
      if (options.json) {
        process.stdout.write(`${result.jsonText}\n`);
        return;
      }
      process.stdout.write(`\n${result.text}\n\nTable: ${result.table}\nReport: ${result.report}\n`);
    });
}
