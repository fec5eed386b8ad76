/** Losses. Labels are int64 class indices. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { formatShape } from '../../tensor.js';

type T = SymbolicTensor;

function oneHot(g: Graph, labels: T, classes: number): T {
  return g.emit1('OneHot', [labels, g.constantInt64(classes), g.constant([0, 1])], [labels.shape[0]!, classes], { axis: -1 }, 'float32');
}

/**
 * MindSpore's SoftmaxCrossEntropyWithLogits(sparse=True, reduction='mean'): the mean over the
 * batch of -log softmax(logits)[label]. Backward is the fused (softmax - onehot) / N.
 */
export function softmaxCrossEntropy(g: Graph, logits: T, labels: T, options: { labelSmoothing?: number } = {}): T {
  const [n, classes] = logits.shape as [number, number];
  const smoothing = options.labelSmoothing ?? 0;
  let target = oneHot(g, labels, classes);
  if (smoothing > 0) target = p.add(g, p.scale(g, target, 1 - smoothing), g.constant(smoothing / classes));
  const logProbabilities = g.emit1('LogSoftmax', [logits], logits.shape, { axis: 1 });
  const loss = p.scale(g, p.reduceSum(g, p.mul(g, target, logProbabilities), [0, 1], false), -1 / n);
  g.record([logits], [loss], ([dloss]) => {
    const probabilities = p.unary(g, 'Exp', logProbabilities);
    return [p.mul(g, p.scale(g, p.sub(g, probabilities, target), 1 / n), dloss!)];
  });
  return loss;
}

/**
 * Cross-entropy against a target distribution per sample (mixup and cutmix targets; one-hot
 * labels with class weights), torch's cross_entropy(weight=w, reduction='mean') generalized to
 * soft targets: -sum_ic w_c t_ic log p_ic / sum_ic w_c t_ic. Without weights the denominator is
 * the batch size for rows that sum to 1. Backward: (p_i sum_c a_ic - a_i) / S with a = w * t.
 */
export function softTargetCrossEntropy(g: Graph, logits: T, targets: T, options: { classWeights?: readonly number[] } = {}): T {
  const classes = logits.shape[1]!;
  if (targets.shape.length !== 2 || targets.shape[1] !== classes) throw new Error(`soft targets must be [N, ${classes}], got ${formatShape(targets.shape)}`);
  const weights = options.classWeights;
  if (weights && weights.length !== classes) throw new Error(`${weights.length} class weights for ${classes} classes`);
  const weighted = weights ? p.mul(g, targets, g.constant(weights, [1, classes])) : targets;
  const total = p.reduceSum(g, weighted, [0, 1], false);
  const logProbabilities = g.emit1('LogSoftmax', [logits], logits.shape, { axis: 1 });
  const loss = p.div(g, p.scale(g, p.reduceSum(g, p.mul(g, weighted, logProbabilities), [0, 1], false), -1), total);
  g.record([logits], [loss], ([dloss]) => {
    const probabilities = p.unary(g, 'Exp', logProbabilities);
    const rowMass = p.reduceSum(g, weighted, [1], true);
    return [p.mul(g, p.div(g, p.sub(g, p.mul(g, probabilities, rowMass), weighted), total), dloss!)];
  });
  return loss;
}

/** torch's cross_entropy(logits, labels, weight=classWeights): each sample counts as its class's weight. */
export function classWeightedCrossEntropy(g: Graph, logits: T, labels: T, classWeights: readonly number[]): T {
  return softTargetCrossEntropy(g, logits, oneHot(g, labels, logits.shape[1]!), { classWeights });
}
