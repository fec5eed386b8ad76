import type { Command } from 'commander';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { ImportedModel } from '../onnx-import/model.js';
import { imageSizeOf, inChannelsOf, interpolationOf, isOnnxPath, loadNetwork, normalizationOf, resizeOf } from '../onnx-import/network.js';
import type { ImageClassifier } from '../models/classifier.js';
import { Flatten } from '../nn/layers/activation.js';
import { GlobalAvgPool2d } from '../nn/layers/pool.js';
import type { Module } from '../nn/module.js';
import { extractFeatures } from '../transfer/extract.js';
import type { HostTensor } from '../tensor.js';
import { accuracyOf, KNearestNeighbours, NearestClassMean } from '../transfer/neighbours.js';
import { SoftmaxRegression, type FeatureMatrix } from '../transfer/tensor-classifier.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import {
  batchSizeOption, calibrateOnOption, calibrationImagesOption, choiceOption, describeStages, evalLoader, int8Options, intOption, modelOption, parsedOption, padModeOption,
  precisionOption, rateOption, seedOption,
  singleFolder, weightsOption, type Precision, onnxNormalizationOption } from './shared-options.js';
import { describeInt8 } from '../runtime/int8.js';

export const CLASSIFIERS = ['softmax', 'knn', 'ncm'] as const;
type ClassifierKind = (typeof CLASSIFIERS)[number];

interface FeaturesOptions {
  model: string;
  mean?: number[];
  std?: number[];
  weights?: string;
  padMode?: PadMode;
  stage: string;
  imageSize?: number;
  batchSize: number;
  precision?: Precision;
  out?: string;
  classifier?: ClassifierKind;
  train?: string;
  test?: string;
  k: number;
  epochs: number;
  lr: number;
  seed: number;
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
  // For an .onnx model the stage is a tensor of the file (tlkit inspect lists the cut points); flatten = the classifier's input.
  const cut = isOnnxPath(options.model) && options.stage !== 'flatten' ? options.stage : undefined;
  const { net } = await loadNetwork(options.model, { weights: options.weights, padMode: options.padMode, cut, mean: options.mean, std: options.std });
  const size = imageSizeOf(net, options.imageSize);
  const loader = evalLoader(folder, options.batchSize, size, { normalize: normalizationOf(net), resize: resizeOf(net, size), interpolation: interpolationOf(net), decodedCache: 0 });
  const stages = net instanceof ImportedModel ? net.bodyStages() : featureStages(net, options.stage);
  const channels = inChannelsOf(net);
  const int8 = await int8Options(options, {
    calibration: folder, imageSize: size, channels, seed: 0, normalize: normalizationOf(net), onReport: (report) => process.stderr.write(`${describeInt8(report)}\n`),
  });
  const { values, rows, dimension, labels, int8: report } = await extractFeatures(stages, loader, [channels, size, size], undefined, int8);
  const classNames = [...folder.classNames];
  const metadata: Record<string, string> = {
    class_names: JSON.stringify(classNames), model: options.model, weights: options.weights ?? '', stage: options.stage, image_size: String(size), folder: folder.root,
    precision: report ? 'int8' : 'float32', ...(report ? { int8: JSON.stringify(report) } : {}),
  };
  await writeSafetensors(options.out, [
    ['features', { dtype: 'float32', shape: [rows, dimension], data: values }],
    ['labels', { dtype: 'int32', shape: [rows], data: labels }],
  ], metadata);
  return { values, rows, dimension, labels, classNames, metadata };
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
  const kind = options.classifier;
  if (!kind) throw new Error('--classifier: choose one of ' + CLASSIFIERS.join(', '));
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
      classes, epochs: options.epochs, lr: options.lr, seed: options.seed,
    });
    predicted = await model.predict(test);
    const [weight, bias] = model.head.parameters();
    saved = [['weight', tensor([...weight!.shape], weight!.data)], ['bias', tensor([...bias!.shape], bias!.data)],
      ['mean', tensor([train.dimension], model.scaling.mean)], ['std', tensor([train.dimension], model.scaling.std)]];
    extra.use = 'logits = ((x - mean) / std) @ weight^T + bias';
  } else if (kind === 'knn') {
    const k = options.k;
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
    .addOption(modelOption())
    .addOption(weightsOption())
    .addOption(padModeOption())
    .option('--stage <name>', 'where to cut the network: flatten (pooled layer4), layer3, layer3.5, layer2...; for an .onnx model a tensor name (tlkit inspect lists the cut points); feature maps are globally average-pooled', 'flatten')
    .addOption(intOption('--image-size <n>', 'crop size (images are resized to size+32, then center-cropped; default: 224, or the .onnx model\'s input size)'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .addOption(batchSizeOption())
    .addOption(precisionOption())
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('default: the folder the features are extracted from'))
    .option('--out <file>', 'features.safetensors to write (features, labels, class names); with --classifier, the trained classifier')
    .addOption(choiceOption('--classifier <kind>', 'train a classifier on saved features', CLASSIFIERS))
    .option('--train <file>', 'features to train the classifier on')
    .option('--test <file>', 'features to score it on')
    .addOption(intOption('--k <n>', 'neighbours for knn', 5))
    .addOption(intOption('--epochs <n>', 'epochs for softmax', 100))
    .addOption(rateOption('--lr <rate>', 'Adam learning rate for softmax', 0.01))
    .addOption(seedOption('seed for softmax'))
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
