import { loadParamIntoNet, type LoadParamsReport } from '../io/load-params.js';
import { canonicalNameToTorch, detectConvention } from '../io/names.js';
import { detectFamily, timmToTorchvision } from '../io/timm-names.js';
import type { HostTensor } from '../tensor.js';
import type { ImageClassifier } from './classifier.js';
import { RESNET_FACTORIES, type ResNet, type ResNetName, type ResNetOptions } from './resnet.js';
import { ZOO_FACTORIES, type ZooOptions } from './zoo.js';

/**
 * The model factories by name, and a model built around weights already in memory (no files:
 * the browser build uses these). MODEL_NAMES is the one list `--model` choices come from.
 */
export const MODEL_NAMES: readonly string[] = Object.freeze([...Object.keys(RESNET_FACTORIES), ...Object.keys(ZOO_FACTORIES)]);
export type ModelName = ResNetName | keyof typeof ZOO_FACTORIES;

export function isModelName(name: string): name is ModelName {
  return MODEL_NAMES.includes(name);
}

function isResNetName(name: string): name is ResNetName {
  return name in RESNET_FACTORIES;
}

/** The family of an architecture name: resnet, mobilenet_v2, mobilenet_v3, efficientnet, convnext. */
export function familyOf(name: string): string {
  return name.replace(/(_large|_small|_tiny|_b\d|\d+)$/, '');
}

export type ModelOptions = ResNetOptions & ZooOptions;

function unknownModel(name: string): Error {
  return new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
}

/** Builds any architecture by name; options a family does not have (ResNet's `width`, EfficientNet's stochastic depth) are ignored. */
export function createModel(name: string, options: ModelOptions = {}): ImageClassifier {
  if (isResNetName(name)) return RESNET_FACTORIES[name](options);
  const factory = ZOO_FACTORIES[name];
  if (!factory) throw unknownModel(name);
  return factory(options);
}

export function createResNet(name: string, options: ResNetOptions = {}): ResNet {
  if (!isResNetName(name)) throw new Error(`unknown ResNet "${name}"; known models: ${Object.keys(RESNET_FACTORIES).join(', ')}`);
  return RESNET_FACTORIES[name](options);
}

/** The network's parameters in torchvision spelling (BN gamma -> weight, moving_mean -> running_mean). */
export function torchvisionLayout(net: ImageClassifier): Array<{ name: string; shape: readonly number[] }> {
  return net.parameters().map((p) => ({ name: canonicalNameToTorch(p.name), shape: p.shape }));
}

/** Classes of the file's head: the last 2-D weight of the family's classifier. */
function inferredClasses(net: ImageClassifier, params: Map<string, HostTensor>): number | undefined {
  const heads = [...params].filter(([name, t]) => name.startsWith(`${net.headName}.`) && name.endsWith('.weight') && t.shape.length === 2);
  return heads.length > 0 ? heads[heads.length - 1]![1].shape[0] : undefined;
}

/** The state of the head's last linear layer, whose shape follows the class count. */
function isLastHeadTensor(net: ImageClassifier, name: string): boolean {
  if (net.headName === 'fc') return name.startsWith('fc.');
  const head = net.stages().find(([stage]) => stage === net.headName);
  const layers = head ? head[1].namedParameters().map(([n]) => n) : [];
  const last = layers[layers.length - 1]?.split('.')[0];
  return last !== undefined && name.startsWith(`${net.headName}.${last}.`);
}

export interface ModelFromWeightsOptions extends ModelOptions {
  /** Throw on any missing, unexpected or mismatched tensor. Default: only a replaced head may mismatch. */
  strict?: boolean;
  /** Names the weights in error messages (a file name). */
  source?: string;
  /** The network may keep the weights' arrays instead of copying them (nothing else uses them). */
  takeOwnership?: boolean;
}

/**
 * Builds `name` for these weights and loads them by name: MindSpore, torchvision and timm names
 * (detected), the padding convention from the names (MindSpore -> 'same', else 'pad') and the
 * class count from the head unless given (then a different head is the expected mismatch).
 * Weights of another family or variant fail naming the first tensor that does not fit, and the
 * family the names look like.
 */
export function modelFromWeights(name: string, raw: Map<string, HostTensor>, options: ModelFromWeightsOptions = {}): { net: ImageClassifier; report: LoadParamsReport } {
  if (!isModelName(name)) throw unknownModel(name);
  const source = options.source ?? 'the weights';
  const fileFamily = detectFamily(raw.keys());
  const mindspore = fileFamily ? fileFamily.convention === 'mindspore' : detectConvention(raw.keys()) === 'mindspore';
  const padMode = options.padMode ?? (mindspore ? 'same' : 'pad');
  const net = createModel(name, { ...options, padMode });
  const params = fileFamily?.convention === 'timm' ? timmToTorchvision(raw, name, torchvisionLayout(net)) : raw;
  const fileClasses = inferredClasses(net, params);
  const numClasses = options.numClasses ?? fileClasses ?? 1000;
  if (numClasses !== net.numClasses()) net.replaceHead(numClasses);
  const report = loadParamIntoNet(net, params, { strict: false, takeOwnership: options.takeOwnership });
  const headReplaced = numClasses !== fileClasses;
  const family = familyOf(name);
  const looksLike = !fileFamily ? ' (its names look like none of the known families)'
    : fileFamily.family !== family ? ` (it looks like a ${fileFamily.family} checkpoint with ${fileFamily.convention} names, not ${family})` : '';
  // In the network's parameter order, so the first problem named is the first tensor that does not fit.
  const mismatched = new Map(report.mismatched.filter((m) => !(headReplaced && isLastHeadTensor(net, m.name))).map((m) => [m.name, m]));
  const missing = new Set(report.missing);
  const problems: string[] = [];
  for (const p of net.parameters()) {
    const m = mismatched.get(p.name);
    if (m) problems.push(`${m.name}: the model expects [${m.expected.join(', ')}], ${source} has [${m.got.join(', ')}]`);
    else if (missing.has(p.name)) problems.push(`${p.name}: missing from ${source}`);
  }
  if (options.strict) problems.push(...report.unexpected.map((n) => `${n}: in ${source} but not in ${name}`));
  if (problems.length > 0) {
    throw new Error(`cannot load ${source} into ${name}${looksLike}: first ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  return { net, report };
}
