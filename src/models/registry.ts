import { readWeights } from '../io/weights.js';
import { loadParamIntoNet, type LoadParamsReport } from '../io/load-params.js';
import { canonicalNameToTorch, detectConvention } from '../io/names.js';
import { detectFamily, timmToTorchvision } from '../io/timm-names.js';
import type { HostTensor } from '../tensor.js';
import type { ImageClassifier } from './classifier.js';
import { findPretrained, resolvePretrained, type PretrainedEntry } from './pretrained.js';
import { RESNET_FACTORIES, type ResNet, type ResNetName, type ResNetOptions } from './resnet.js';
import { ZOO_FACTORIES, type ZooOptions } from './zoo.js';

/** Every architecture `--model` accepts, by torchvision's names: the one list the CLI's choices come from. */
export const MODEL_NAMES: readonly string[] = Object.freeze([...Object.keys(RESNET_FACTORIES), ...Object.keys(ZOO_FACTORIES)]);
export type ModelName = ResNetName | keyof typeof ZOO_FACTORIES;

export function isModelName(name: string): name is ModelName {
  return MODEL_NAMES.includes(name);
}

function isResNetName(name: string): name is ResNetName {
  return name in RESNET_FACTORIES;
}

/** The family of an architecture name (resnet, mobilenet_v2, mobilenet_v3, efficientnet, convnext). */
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
  if (!isResNetName(name)) throw new Error(`unknown ResNet "${name}"; known: ${Object.keys(RESNET_FACTORIES).join(', ')}`);
  return RESNET_FACTORIES[name](options);
}

export interface LoadModelOptions extends ModelOptions {
  /** A registry name (`resnet50-mindspore`) or a weights file (.ckpt, .safetensors). */
  weights?: string;
  /** Throw on any missing, unexpected or mismatched tensor. Default: only a replaced head may mismatch. */
  strict?: boolean;
}

export interface LoadedModel {
  net: ImageClassifier;
  report?: LoadParamsReport;
  weightsPath?: string;
  /** The registry entry when `weights` named one (its preprocessing drives evaluation). */
  entry?: PretrainedEntry;
}

/** Classes of the file's head: the last 2-D tensor of the family's classifier. */
function inferredClasses(net: ImageClassifier, params: Map<string, HostTensor>): number | undefined {
  const heads = [...params].filter(([name, t]) => name.startsWith(`${net.headName}.`) && name.endsWith('.weight') && t.shape.length === 2);
  return heads.length > 0 ? heads[heads.length - 1]![1].shape[0] : undefined;
}

/** The state of the head's last linear layer, whose shape follows the class count. */
function isLastHeadTensor(net: ImageClassifier, name: string): boolean {
  const head = net.stages().find(([stage]) => stage === net.headName);
  if (net.headName === 'fc') return name.startsWith('fc.');
  const layers = head ? head[1].namedParameters().map(([n]) => n) : [];
  const last = layers[layers.length - 1]?.split('.')[0];
  return last !== undefined && name.startsWith(`${net.headName}.${last}.`);
}

/**
 * Builds a network and loads weights by parameter name: MindSpore, torchvision and timm names
 * (detected), the padding convention from the weights for ResNets (MindSpore 'same', else 'pad'),
 * and the class count from the file's head unless given (then a different head is the expected
 * mismatch). Weights of another family or variant fail naming the first tensor that does not fit.
 */
export async function loadModel(name: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!isModelName(name)) throw unknownModel(name);
  if (!options.weights) return { net: createModel(name, options) };
  const entry = findPretrained(options.weights);
  const weightsPath = entry ? (await resolvePretrained(options.weights, { progress: process.stderr.isTTY })).path : options.weights;
  const raw = await readWeights(weightsPath);
  const fileFamily = detectFamily(raw.keys());
  const padMode = options.padMode ?? entry?.paddingMode ?? (fileFamily?.convention === 'mindspore' || (!fileFamily && detectConvention(raw.keys()) === 'mindspore') ? 'same' : 'pad');
  const net = createModel(name, { ...options, padMode });
  const params = fileFamily?.convention === 'timm' ? timmToTorchvision(raw, name, torchvisionLayout(net)) : raw;
  const fileClasses = inferredClasses(net, params);
  const numClasses = options.numClasses ?? fileClasses ?? 1000;
  if (numClasses !== net.numClasses()) net.replaceHead(numClasses);
  const report = loadParamIntoNet(net, params, { strict: false });
  const headReplaced = numClasses !== fileClasses;
  const family = familyOf(name);
  const looksLike = !fileFamily ? ' (its names look like none of the known families)'
    : fileFamily.family !== family ? ` (it looks like a ${fileFamily.family} checkpoint with ${fileFamily.convention} names, not ${family})` : '';
  // Problems in the network's parameter order, so the first one named is the first tensor that does not fit.
  const mismatched = new Map(report.mismatched.filter((m) => !(headReplaced && isLastHeadTensor(net, m.name))).map((m) => [m.name, m]));
  const missing = new Set(report.missing);
  const problems: string[] = [];
  for (const p of net.parameters()) {
    const m = mismatched.get(p.name);
    if (m) problems.push(`${m.name}: the model expects [${m.expected.join(', ')}], ${weightsPath} has [${m.got.join(', ')}]`);
    else if (missing.has(p.name)) problems.push(`${p.name}: missing from ${weightsPath}`);
  }
  if (options.strict) problems.push(...report.unexpected.map((n) => `${n}: in ${weightsPath} but not in ${name}`));
  if (problems.length > 0) {
    throw new Error(`cannot load ${weightsPath} into ${name}${looksLike}: first ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  return { net, report, weightsPath, entry };
}

/** The network's parameters in torchvision spelling (BN gamma -> weight, moving_mean -> running_mean). */
export function torchvisionLayout(net: ImageClassifier): Array<{ name: string; shape: readonly number[] }> {
  return net.parameters().map((p) => ({ name: canonicalNameToTorch(p.name), shape: p.shape }));
}
