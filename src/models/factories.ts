import { loadParamIntoNet, type LoadParamsReport } from '../io/load-params.js';
import { detectConvention } from '../io/names.js';
import type { HostTensor } from '../tensor.js';
import { RESNET_FACTORIES, type ResNet, type ResNetName, type ResNetOptions } from './resnet.js';

/** The model factories by name, and a model built around weights already in memory (no files: the browser build uses these). */
export const MODEL_NAMES = Object.keys(RESNET_FACTORIES) as ResNetName[];

export function isModelName(name: string): name is ResNetName {
  return (MODEL_NAMES as string[]).includes(name);
}

export function createResNet(name: string, options: ResNetOptions = {}): ResNet {
  if (!isModelName(name)) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  return RESNET_FACTORIES[name](options);
}

function inferredClasses(params: Map<string, HostTensor>): number | undefined {
  return params.get('fc.weight')?.shape[0] ?? params.get('fc.bias')?.shape[0];
}

export interface ModelFromWeightsOptions extends ResNetOptions {
  /** Throw on any missing, unexpected or mismatched tensor. Default: only a replaced head may mismatch. */
  strict?: boolean;
  /** Names the weights in error messages (a file name). */
  source?: string;
  /** The network may keep the weights' arrays instead of copying them (nothing else uses them). */
  takeOwnership?: boolean;
}

/**
 * Builds `name` for these weights and loads them: padding convention from the names
 * (MindSpore -> 'same', torchvision/timm -> 'pad') and class count from the head unless given.
 */
export function modelFromWeights(name: string, params: Map<string, HostTensor>, options: ModelFromWeightsOptions = {}): { net: ResNet; report: LoadParamsReport } {
  if (!isModelName(name)) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  const source = options.source ?? 'the weights';
  const convention = detectConvention(params.keys());
  const padMode = options.padMode ?? (convention === 'mindspore' ? 'same' : 'pad');
  const fileClasses = inferredClasses(params);
  const numClasses = options.numClasses ?? fileClasses ?? 1000;
  const net = createResNet(name, { ...options, padMode, numClasses });
  const report = loadParamIntoNet(net, params, { strict: false, takeOwnership: options.takeOwnership });
  const headReplaced = numClasses !== fileClasses;
  const problems = [
    ...report.mismatched.filter((m) => !(headReplaced && m.name.startsWith('fc.'))).map((m) => `${m.name}: the model expects [${m.expected.join(', ')}], ${source} has [${m.got.join(', ')}]`),
    ...report.missing.map((n) => `${n}: missing from ${source}`),
    ...(options.strict ? report.unexpected.map((n) => `${n}: in ${source} but not in ${name}`) : []),
  ];
  if (problems.length > 0) {
    throw new Error(`cannot load ${source} into ${name}: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  return { net, report };
}
