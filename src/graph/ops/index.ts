/** The op table: every differentiable op, forward and backward side by side in its family's file. */
export * from './elementwise.js';
export { reduceSum, reduceMean, reshape, flatten, transpose, unsqueeze, matmul } from './reduce.js';
export { conv2d, samePadding, convOutputSize, type Pads } from './conv.js';
export { batchNormTraining, batchNormInference } from './norm.js';
export { maxPool2d, avgPool2d, globalAvgPool } from './pool.js';
export { dense } from './dense.js';
export { softmaxCrossEntropy } from './loss.js';
