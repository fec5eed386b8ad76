import type { Command } from 'commander';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { loadModel } from '../models/registry.js';
import type { ImageClassifier } from '../models/classifier.js';
import { Flatten } from '../nn/layers/activation.js';
import { GlobalAvgPool2d } from '../nn/layers/pool.js';
import type { Module } from '../nn/module.js';
import { InferenceRunner } from '../runtime/inference.js';
import type { HostTensor } from '../tensor.js';
import { accuracyOf, KNearestNeighbours, NearestClassMean } from '../transfer/neighbours.js';
import { SoftmaxRegression, type FeatureMatrix } from '../transfer/tensor-classifier.js';
import { describeStages, evalLoader, nonNegativeInt, optionalPositiveInt, parsePadMode, positiveInt, positiveNumber, singleFolder } from './shared-options.js';

export const CLASSIFIERS = ['softmax', 'knn', 'ncm'] as const;
type ClassifierKind = (typeof CLASSIFIERS)[number];

interface FeaturesOptions {
  model: string;
  weights?: string;
  padMode?: string;
  stage: string;
  imageSize: string;
  batchSize: string;
  out?: string;
  classifier?: string;
  train?: string;
  test?: string;
  k: string;
  epochs: string;
  lr: string;
  seed: string;
}

/**
 * The network up to `stage` (a stage name such as layer3.5, or a layer such as layer3 = its last
 * block), globally average-pooled and flattened when the stage's output is a feature map.
 */
export function featureStages(net: ImageClassifier, stage: string): Array<[string, Module]> {
  const stages = net.stages();
  let end = stages.findIndex(([name]) => name === stage);
  if (end < 0) end = stages.map(([name]) => name.startsWith(`${stage}.`)).lastIndexOf(true);
  if (end < 0) throw new Error(`--stage: no stage named ${stage}; choose one of ${describeStages(stages.map(([n]) => n))}, or a block such as layer3.5`);
  const selected = stages.slice(0, end + 1);
  const flattenAt = stages.findIndex(([name]) => name === 'flatten');
  if (end < flattenAt) selected.push(['pool', new GlobalAvgPool2d()], ['flatten', new Flatten()]);
  return selected;
}

export interface FeatureFile extends FeatureMatrix {
  labels: Int32Array;
  classNames: string[];
  metadata: Record<string, string>;
}

export async function extractToFile(dir: string, options: FeaturesOptions & { out: string }): Promise<FeatureFile> {
  const folder = await singleFolder(dir);
  const { net } = await loadModel(options.model, { weights: options.weights, padMode: parsePadMode(options.padMode) });
  const size = positiveInt(options.imageSize, '--image-size');
  const runner = await InferenceRunner.create(featureStages(net, options.stage), [net.inChannels, size, size]);
  const chunks: Float32Array[] = [];
  const labels: number[] = [];
  try {
    for await (const batch of evalLoader(folder, positiveInt(options.batchSize, '--batch-size'), size).epoch(0)) {
      chunks.push((await runner.run(batch.images, batch.labels.length)).data);
      labels.push(...batch.labels);
    }
  } finally {
    await runner.release();
  }
  const values = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((offset, c) => (values.set(c, offset), offset + c.length), 0);
  const rows = labels.length;
  const dimension = values.length / rows;
  const classNames = [...folder.classNames];
  const metadata = { class_names: JSON.stringify(classNames), model: options.model, weights: options.weights ?? '', stage: options.stage, image_size: String(size), folder: folder.root };
  await writeSafetensors(options.out, [
    ['features', { dtype: 'float32', shape: [rows, dimension], data: values }],
    ['labels', { dtype: 'int32', shape: [rows], data: Int32Array.from(labels) }],
  ], metadata);
  return { values, rows, dimension, labels: Int32Array.from(labels), classNames, metadata };
}

export async function readFeatureFile(file: string): Promise<FeatureFile> {
  const { tensors, metadata } = await readSafetensors(file);
  const features = tensors.get('features');
  const labels = tensors.get('labels');
  if (!features || features.dtype !== 'float32' || features.shape.length !== 2) throw new Error(`${file}: no float32 'features' [rows, dimension] tensor (write it with tlkit features)`);
  if (!labels || labels.shape.length !== 1 || labels.shape[0] !== features.shape[0]) throw new Error(`${file}: no 'labels' tensor with one label per feature row`);
  let classNames: unknown;
  try {
    classNames = JSON.parse(metadata.class_names ?? 'null');
  } catch {
    classNames = null;
  }
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) throw new Error(`${file}: metadata class_names must be a JSON array of class names`);
  const labelValues = Int32Array.from(labels.data as ArrayLike<number>);
  const bad = labelValues.findIndex((l) => l < 0 || l >= classNames.length);
  if (bad >= 0) throw new Error(`${file}: label ${labelValues[bad]} of row ${bad} is not a class index in 0..${classNames.length - 1}`);
  return { values: features.data as Float32Array, rows: features.shape[0]!, dimension: features.shape[1]!, labels: labelValues, classNames, metadata };
}

const tensor = (shape: number[], data: Float32Array | Int32Array): HostTensor => (data instanceof Int32Array ? { dtype: 'int32', shape, data } : { dtype: 'float32', shape, data });

/** Trains a classifier on one feature file, scores it on another, and saves what it learned. */
export async function trainClassifier(options: FeaturesOptions): Promise<{ kind: ClassifierKind; accuracy: number; correct: number; total: number }> {
  const kind = options.classifier as ClassifierKind;
  if (!(CLASSIFIERS as readonly string[]).includes(kind)) throw new Error(`--classifier must be one of ${CLASSIFIERS.join(', ')}, got "${options.classifier}"`);
  if (!options.train || !options.test) throw new Error('--classifier needs --train <features.safetensors> and --test <features.safetensors>');
  const [train, test] = await Promise.all([readFeatureFile(options.train), readFeatureFile(options.test)]);
  if (train.dimension !== test.dimension) throw new Error(`${options.train} has ${train.dimension}-dimensional features but ${options.test} has ${test.dimension}`);
  if (train.classNames.join('\n') !== test.classNames.join('\n')) {
    throw new Error(`${options.train} has classes [${train.classNames.join(', ')}] but ${options.test} has [${test.classNames.join(', ')}]`);
  }
  const classes = train.classNames.length;
  let predicted: Int32Array;
  let saved: Array<[string, HostTensor]>;
  const extra: Record<string, string> = {};
  if (kind === 'softmax') {
    const model = await SoftmaxRegression.train(train, train.labels, {
      classes, epochs: positiveInt(options.epochs, '--epochs'), lr: positiveNumber(options.lr, '--lr'), seed: nonNegativeInt(options.seed, '--seed'),
    });
    predicted = await model.predict(test);
    const [weight, bias] = model.head.parameters();
    saved = [['weight', tensor([...weight!.shape], weight!.data)], ['bias', tensor([...bias!.shape], bias!.data)],
      ['mean', tensor([train.dimension], model.scaling.mean)], ['std', tensor([train.dimension], model.scaling.std)]];
    extra.use = 'logits = ((x - mean) / std) @ weight^T + bias';
  } else if (kind === 'knn') {
    const k = positiveInt(options.k, '--k');
    predicted = new KNearestNeighbours(train, train.labels, classes, k).predict(test);
    saved = [['reference', tensor([train.rows, train.dimension], train.values)], ['labels', tensor([train.rows], train.labels)]];
    extra.k = String(k);
    extra.use = 'cosine similarity to the reference rows, votes of the k nearest weighted by 1 + similarity';
  } else {
    const ncm = new NearestClassMean(train, train.labels, classes);
    predicted = ncm.predict(test);
    saved = [['centroids', tensor([classes, train.dimension], ncm.centroids.values)]];
    extra.use = 'the class whose L2-normalized centroid has the highest cosine similarity';
  }
  const accuracy = accuracyOf(predicted, test.labels);
  if (options.out) {
    await writeSafetensors(options.out, saved, {
      classifier: kind, class_names: JSON.stringify(train.classNames), stage: train.metadata.stage ?? '', model: train.metadata.model ?? '',
      test_accuracy: String(accuracy), ...extra,
    });
  }
  return { kind, accuracy, correct: Math.round(accuracy * test.rows), total: test.rows };
}

export function register(program: Command): void {
  program
    .command('features')
    .description('feature-based transfer: save pooled features of a stage for an image folder, or train a classifier (softmax, kNN, nearest class mean) on saved features')
    .argument('[folder]', 'an image folder with one sub-folder per class (e.g. data/train); not with --classifier')
    .option('--model <name>', 'architecture: resnet18, resnet34, resnet50, resnet101, resnet152', 'resnet50')
    .option('--weights <file>', 'weights: a registry name (resnet50-mindspore), .ckpt or .safetensors')
    .option('--pad-mode <mode>', "'same' (MindSpore) or 'pad' (PyTorch); default: from the weights' naming")
    .option('--stage <name>', 'where to cut the network: flatten (pooled layer4), layer3, layer3.5, layer2...; feature maps are globally average-pooled', 'flatten')
    .option('--image-size <n>', 'crop size (resize to size+32, center crop)', '224')
    .option('--batch-size <n>', 'images per run', '16')
    .option('--out <file>', 'features.safetensors to write (features, labels, class names); with --classifier, the trained classifier')
    .option('--classifier <kind>', `train a classifier on saved features: ${CLASSIFIERS.join(', ')}`)
    .option('--train <file>', 'features to train the classifier on')
    .option('--test <file>', 'features to score it on')
    .option('--k <n>', 'neighbours for knn', '5')
    .option('--epochs <n>', 'epochs for softmax', '100')
    .option('--lr <rate>', 'Adam learning rate for softmax', '0.01')
    .option('--seed <n>', 'seed for softmax', '0')
    .action(async (folder: string | undefined, options: FeaturesOptions) => {
      if (options.classifier) {
        if (folder) throw new Error('--classifier trains on saved features (--train, --test): give no image folder');
        const result = await trainClassifier(options);
        process.stdout.write(`${result.kind} on ${options.test}: accuracy ${result.accuracy.toFixed(3)} (${result.correct}/${result.total})${options.out ? `; saved ${options.out}` : ''}\n`);
        return;
      }
      if (!folder) throw new Error('give an image folder to extract features from, or --classifier with --train and --test');
      if (!options.out) throw new Error('--out <features.safetensors> is required');
      const result = await extractToFile(folder, { ...options, out: options.out });
      process.stdout.write(`wrote ${options.out}: ${result.rows} x ${result.dimension} features of stage ${options.stage}, classes ${result.classNames.join(', ')}\n`);
    });
}
