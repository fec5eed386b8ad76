/** Batch normalization over NCHW, in training mode (batch statistics) and inference mode. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { conv2d, convProducing, type ConvCall } from './conv.js';
import { mul, sub } from './elementwise.js';
import { reshape } from './reduce.js';
import { engineTuning } from './tuning.js';

type T = SymbolicTensor;
const CHANNEL_AXES = [0, 2, 3];

export interface BatchNormTrainingResult {
  y: T;
  /** Updated running statistics, MindSpore's convention: running = momentum * running + (1 - momentum) * batch. */
  newMovingMean: T;
  newMovingVariance: T;
}

/**
 * Two-pass statistics (mean, then mean of squared deviations): the one-pass E[x^2] - mean^2
 * lost a digit per layer in float32 and is not used. The backward is folded into
 * dx = a*dy + b*x + c per channel, so no normalized copy of x is kept alive.
 * Tried on 2026-12-01 and not kept: the normalization as one BatchNormalization node fed the
 * batch statistics, and b*x + c as another (fewer full-size passes on paper), ran ResNet-50 b8
 * steps 4-7% slower (1938-2006 vs 1690-1848 ms, runs alternating); ReduceSumSquare for the
 * variance lost accuracy (MobileNetV2's early BN gradients 6e-2 of float64 instead of 2e-2).
 * Alone, a BatchNormalization node runs the per-channel affine in 2.8 ms where Mul + Add take
 * 6.6 on [8, 256, 56, 56]; a whole-step re-measurement is still to do (the first one with
 * ab-step --interleaved compared two identical graphs: that mode built every variant's graph
 * with the default switches until it was fixed).
 */
export function batchNormTraining(g: Graph, x: T, gamma: T, beta: T, movingMean: T, movingVariance: T, eps: number, momentum: number): BatchNormTrainingResult {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const count = n * h * w;
  const perChannel = [1, c, 1, 1];
  const gamma4 = p.reshape(g, gamma, perChannel);
  const beta4 = p.reshape(g, beta, perChannel);
  const mean = p.reduceMean(g, x, CHANNEL_AXES);
  const centered = p.sub(g, x, mean);
  const variance = p.reduceMean(g, p.mul(g, centered, centered), CHANNEL_AXES);
  const rstd = p.unary(g, 'Reciprocal', p.unary(g, 'Sqrt', p.add(g, variance, g.constant(eps))));
  const scale = p.mul(g, gamma4, rstd);
  const shift = p.sub(g, beta4, p.mul(g, mean, scale));
  const y = p.add(g, p.mul(g, x, scale), shift);

  const unbiased = count > 1 ? count / (count - 1) : 1;
  const newMovingMean = p.add(g, p.scale(g, movingMean, momentum), p.scale(g, p.reshape(g, mean, [c]), 1 - momentum));
  const newMovingVariance = p.add(g, p.scale(g, movingVariance, momentum), p.scale(g, p.reshape(g, variance, [c]), (1 - momentum) * unbiased));

  g.record([x, gamma, beta], [y], ([dy]) => {
    const dbeta = p.reduceSum(g, dy!, CHANNEL_AXES);
    const sumDyX = p.reduceSum(g, p.mul(g, dy!, x), CHANNEL_AXES);
    const dgamma = p.mul(g, rstd, p.sub(g, sumDyX, p.mul(g, mean, dbeta)));
    let dx: T | null = null;
    if (g.requiresGrad(x)) {
      const k = p.scale(g, p.mul(g, p.mul(g, scale, rstd), dgamma), 1 / count);
      const offset = p.sub(g, p.mul(g, mean, k), p.scale(g, p.mul(g, scale, dbeta), 1 / count));
      dx = p.add(g, p.sub(g, p.mul(g, dy!, scale), p.mul(g, x, k)), offset);
    }
    return [dx, g.requiresGrad(gamma) ? p.reshape(g, dgamma, [c]) : null, g.requiresGrad(beta) ? p.reshape(g, dbeta, [c]) : null];
  });
  return { y, newMovingMean, newMovingVariance };
}

/**
 * Inference mode: ONNX BatchNormalization, which ORT folds into the preceding Conv when weights
 * are constant. In a training graph (frozen BN under trainable weights) tlkit folds it itself:
 * the conv is re-emitted with W' = W * gamma / sqrt(var + eps) and bias beta - mean * gamma /
 * sqrt(var + eps), so no full-size BN work is left in the forward or the backward; the gradients
 * of W, gamma and beta come from the per-channel products on weight-sized tensors.
 */
export function batchNormInference(g: Graph, x: T, gamma: T, beta: T, movingMean: T, movingVariance: T, eps: number): T {
  const conv = convProducing(g, x);
  if (conv && engineTuning.foldFrozenBatchNorm && (g.requiresGrad(x) || g.requiresGrad(gamma) || g.requiresGrad(beta))) return foldedIntoConv(g, conv, gamma, beta, movingMean, movingVariance, eps);
  return batchNormNode(g, x, gamma, beta, movingMean, movingVariance, eps);
}

function foldedIntoConv(g: Graph, conv: ConvCall, gamma: T, beta: T, movingMean: T, movingVariance: T, eps: number): T {
  const c = gamma.shape[0]!;
  const rstd = p.unary(g, 'Reciprocal', p.unary(g, 'Sqrt', p.add(g, movingVariance, g.constant(eps))));
  const scale = mul(g, gamma, rstd);
  const weight = mul(g, conv.w, reshape(g, scale, [c, 1, 1, 1]));
  const bias = sub(g, beta, mul(g, movingMean, scale));
  return conv2d(g, conv.x, weight, conv.options, bias);
}

function batchNormNode(g: Graph, x: T, gamma: T, beta: T, movingMean: T, movingVariance: T, eps: number): T {
  const c = x.shape[1]!;
  const y = g.emit1('BatchNormalization', [x, gamma, beta, movingMean, movingVariance], x.shape, { epsilon: { float: eps } });
  g.record([x, gamma, beta], [y], ([dy]) => {
    const perChannel = [1, c, 1, 1];
    const rstd = p.reshape(g, p.unary(g, 'Reciprocal', p.unary(g, 'Sqrt', p.add(g, movingVariance, g.constant(eps)))), perChannel);
    const dx = g.requiresGrad(x) ? p.mul(g, dy!, p.mul(g, p.reshape(g, gamma, perChannel), rstd)) : null;
    const sumDy = g.requiresGrad(gamma) || g.requiresGrad(beta) ? p.reduceSum(g, dy!, CHANNEL_AXES) : null;
    // sum(dy * (x - mean)) * rstd as (sum(dy * x) - mean * sum(dy)) * rstd: one full-size product
    // instead of three (the same folding as the training-mode backward above).
    const dgamma = g.requiresGrad(gamma)
      ? p.reshape(g, p.mul(g, rstd, p.sub(g, p.reduceSum(g, p.mul(g, dy!, x), CHANNEL_AXES), p.mul(g, p.reshape(g, movingMean, perChannel), sumDy!))), [c])
      : null;
    const dbeta = g.requiresGrad(beta) ? p.reshape(g, sumDy!, [c]) : null;
    return [dx, dgamma, dbeta];
  });
  return y;
}
