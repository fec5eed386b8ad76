/** Losses. Labels are int64 class indices. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

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
