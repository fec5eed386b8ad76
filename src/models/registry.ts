import { readWeights } from '../io/weights.js';
import { loadParamIntoNet, type LoadParamsReport } from '../io/load-params.js';
import { detectConvention } from '../io/names.js';
import type { HostTensor } from '../tensor.js';
import { findPretrained, resolvePretrained } from './pretrained.js';
import { RESNET_FACTORIES, type ResNet, type ResNetName, type ResNetOptions } from './resnet.js';

export const MODEL_NAMES = Object.keys(RESNET_FACTORIES) as ResNetName[];

export function isModelName(name: string): name is ResNetName {
  return (MODEL_NAMES as string[]).includes(name);
}

export function createResNet(name: string, options: ResNetOptions = {}): ResNet {
  if (!isModelName(name)) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  return RESNET_FACTORIES[name](options);
}

export interface LoadModelOptions extends ResNetOptions {
  /** A registry name (`resnet50-mindspore`) or a weights file (.ckpt, .safetensors). */
  weights?: string;
  /** Throw on any missing, unexpected or mismatched tensor. Default: only a replaced head may mismatch. */
  strict?: boolean;
}

export interface LoadedModel {
  net: ResNet;
  report?: LoadParamsReport;
  weightsPath?: string;
}

function inferredClasses(params: Map<string, HostTensor>): number | undefined {
  return params.get('fc.weight')?.shape[0] ?? params.get('fc.bias')?.shape[0];
}

/**
 * Builds a ResNet and loads weights by parameter name, picking the padding convention from the
 * weights (MindSpore names -> 'same', torchvision/timm -> 'pad') unless given, and the class
 * count from the file's head unless given (then a different head is the expected mismatch).
 */
export async function loadModel(name: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!isModelName(name)) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  if (!options.weights) return { net: createResNet(name, options) };
  const entry = findPretrained(options.weights);
  const weightsPath = entry ? (await resolvePretrained(options.weights, { progress: process.stderr.isTTY })).path : options.weights;
  const params = await readWeights(weightsPath);
  const convention = detectConvention(params.keys());
  const padMode = options.padMode ?? entry?.paddingMode ?? (convention === 'mindspore' ? 'same' : 'pad');
  const fileClasses = inferredClasses(params);
  const numClasses = options.numClasses ?? fileClasses ?? 1000;
  const net = createResNet(name, { ...options, padMode, numClasses });
  const report = loadParamIntoNet(net, params, { strict: false, takeOwnership: true });
  const headReplaced = numClasses !== fileClasses;
  const problems = [
    ...report.mismatched.filter((m) => !(headReplaced && m.name.startsWith('fc.'))).map((m) => `${m.name}: the model expects [${m.expected.join(', ')}], ${weightsPath} has [${m.got.join(', ')}]`),
    ...report.missing.map((n) => `${n}: missing from ${weightsPath}`),
    ...(options.strict ? report.unexpected.map((n) => `${n}: in ${weightsPath} but not in ${name}`) : []),
  ];
  if (problems.length > 0) {
    throw new Error(`cannot load ${weightsPath} into ${name}: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  return { net, report, weightsPath };
}
