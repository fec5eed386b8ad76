/**
 * One entry for every command that takes `--model`: a registry architecture (resnet50, with
 * optional weights) or a path ending in .onnx (an imported classifier, optionally with the weights
 * a tlkit run saved for it: the file's initializer names plus fc.*).
 */
import { readWeights } from '../io/weights.js';
import { loadParamIntoNet } from '../io/load-params.js';
import { IMAGENET_MEAN_255, IMAGENET_STD_255 } from '../data/transforms.js';
import type { Interpolation } from '../data/pil-resample.js';
import { loadModel, type LoadModelOptions } from '../models/registry.js';
import type { ImageClassifier } from '../models/classifier.js';
import { importOnnx, type ImportOnnxOptions } from './load.js';
import { ImportedModel } from './model.js';

export type TransferNetwork = ImageClassifier | ImportedModel;

export function isOnnxPath(model: string): boolean {
  return model.toLowerCase().endsWith('.onnx');
}

export interface LoadNetworkOptions extends LoadModelOptions, Pick<ImportOnnxOptions, 'cut' | 'imageSize' | 'mean' | 'std'> {}

export interface LoadedNetwork {
  net: TransferNetwork;
  weightsPath?: string;
}

/** Loads tlkit-saved weights (best.ckpt of a run on this .onnx) into an imported network, by name. */
async function loadSavedWeights(net: ImportedModel, weights: string, strict: boolean): Promise<void> {
  const params = await readWeights(weights);
  const classes = params.get('fc.weight')?.shape[0];
  if (classes !== undefined && net.fc.namedParameters().find(([n]) => n === 'weight')?.[1].shape[0] !== classes) net.replaceHead(classes);
  const report = loadParamIntoNet(net, params, { strict: false, convention: 'mindspore' });
  const problems = [
    ...report.mismatched.map((m) => `${m.name}: ${net.source} has [${m.expected.join(', ')}], ${weights} has [${m.got.join(', ')}]`),
    ...(strict ? report.missing.map((n) => `${n}: missing from ${weights}`) : []),
  ];
  if (report.loaded.length === 0) problems.push(`none of its tensors is a parameter of ${net.source} (${[...params.keys()].slice(0, 4).join(', ')}...)`);
  if (problems.length > 0) throw new Error(`cannot load ${weights} into ${net.source}: ${problems.slice(0, 8).join('; ')}`);
}

export async function loadNetwork(model: string, options: LoadNetworkOptions = {}): Promise<LoadedNetwork> {
  if (!isOnnxPath(model)) {
    if (options.cut) throw new Error(`--cut applies to imported .onnx models; ${model} has stages (use --stage / --from-stage)`);
    const { net, weightsPath } = await loadModel(model, options);
    return { net, weightsPath };
  }
  const net = await importOnnx(model, { cut: options.cut, numClasses: options.numClasses, imageSize: options.imageSize, mean: options.mean, std: options.std });
  if (options.weights) await loadSavedWeights(net, options.weights, options.strict ?? false);
  return { net, weightsPath: options.weights };
}

/** Input channels of either kind of network. */
export function inChannelsOf(net: TransferNetwork): number {
  return net.inChannels;
}

/** The crop size to use: the user's, else an imported model's own or the loaded weights' (their pretrained config), else 224. */
export function imageSizeOf(net: TransferNetwork, requested: number | undefined): number {
  return requested ?? (net instanceof ImportedModel ? net.preprocessing.imageSize : net.preprocessing?.crop ?? 224);
}

/** The shorter side before the centre crop: the loaded weights' (timm: floor(size / crop_pct)) at their own size, else size + 32. */
export function resizeOf(net: TransferNetwork, size: number): number {
  const preprocessing = net instanceof ImportedModel ? undefined : net.preprocessing;
  return preprocessing && preprocessing.crop === size ? preprocessing.resize : size + 32;
}

/** The eval resize's filter: the loaded weights' (timm's pretrained_cfg: mostly bicubic), else bilinear as torchvision's Resize. */
export function interpolationOf(net: TransferNetwork): Interpolation {
  return net instanceof ImportedModel ? 'bilinear' : net.preprocessing?.interpolation ?? 'bilinear';
}

/** Normalization (0-255 scale) the eval transforms use for this network. */
export function normalizationOf(net: TransferNetwork): { mean: number[]; std: number[] } {
  if (net instanceof ImportedModel) return { mean: net.preprocessing.mean, std: net.preprocessing.std };
  return net.preprocessing ? { mean: [...net.preprocessing.mean], std: [...net.preprocessing.std] } : { mean: [...IMAGENET_MEAN_255], std: [...IMAGENET_STD_255] };
}

/** `--mean 123.7,116.3,103.5`: one number per channel (0-255 scale), or one for all. */
export function parseChannelValues(value: string, flag: string): number[] {
  const numbers = value.split(',').map((v) => Number(v.trim()));
  if (numbers.length === 0 || !numbers.every(Number.isFinite)) throw new Error(`${flag} must be comma-separated numbers (one per channel, 0-255 scale), got "${value}"`);
  return numbers;
}
