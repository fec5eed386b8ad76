import type { Module } from '../nn/module.js';
import type { Stages } from '../runtime/compile.js';
import type { BatchStream } from '../train/evaluate.js';
import { collectOutputs, withRunner } from '../train/infer.js';
import type { FeatureMatrix } from './tensor-classifier.js';

export interface ExtractedFeatures extends FeatureMatrix {
  labels: Int32Array;
}

/**
 * Runs the network up to `stage` (default: the pooled, flattened features) over a loader; given
 * stages instead of a network, runs them all.
 */
export async function extractFeatures(net: Module | Stages, loader: BatchStream, inputShape: readonly number[], stage = 'flatten'): Promise<ExtractedFeatures> {
  const { values, rows, dimension, labels } = await withRunner(net, inputShape, (runner) => collectOutputs(runner, loader), Array.isArray(net) ? {} : { until: stage });
  return { values, rows, dimension, labels };
}
