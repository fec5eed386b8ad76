import { readWeights } from '../io/weights.js';
import type { LoadParamsReport } from '../io/load-params.js';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findPretrained, preprocessingFromTimmConfig, resolvePretrained, type PretrainedEntry, type PretrainedPreprocessing } from './pretrained.js';
import type { ImageClassifier } from './classifier.js';
import { createModel, isModelName, MODEL_NAMES, modelFromWeights, type ModelOptions } from './factories.js';

export {
  createModel, createResNet, familyOf, isModelName, MODEL_NAMES, modelFromWeights, torchvisionLayout, type ModelFromWeightsOptions, type ModelName, type ModelOptions,
} from './factories.js';

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

/**
 * Builds a ResNet and loads weights by parameter name, picking the padding convention from the
 * weights (MindSpore names -> 'same', torchvision/timm -> 'pad') unless given, and the class
 * count from the file's head unless given (then a different head is the expected mismatch).
 */
export async function loadModel(name: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!isModelName(name)) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  if (!options.weights) return { net: createModel(name, options) };
  const entry = findPretrained(options.weights);
  const weightsPath = entry ? (await resolvePretrained(options.weights, { progress: process.stderr.isTTY })).path : options.weights;
  const params = await readWeights(weightsPath);
  const { net, report } = modelFromWeights(name, params, { ...options, padMode: options.padMode ?? entry?.paddingMode, source: weightsPath, takeOwnership: true });
  net.preprocessing = preprocessingFor(weightsPath, entry);
  return { net, report, weightsPath, entry };
}

/**
 * The eval preprocessing of these weights: a timm HF repository's config.json beside the file
 * (its pretrained_cfg) when present, else the registry entry's; undefined for other files.
 */
export function preprocessingFor(weightsPath: string, entry?: PretrainedEntry): PretrainedPreprocessing | undefined {
  const config = path.join(path.dirname(weightsPath), 'config.json');
  if (existsSync(config) && (entry?.source === 'timm' || path.basename(weightsPath) === 'model.safetensors')) {
    return preprocessingFromTimmConfig(readFileSync(config, 'utf8'), config);
  }
  return entry?.preprocessing;
}
