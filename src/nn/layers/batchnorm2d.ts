import type { SymbolicTensor } from '../../graph/ir.js';
import { batchNormInference, batchNormTraining } from '../../graph/ops/norm.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

export interface BatchNorm2dOptions {
  eps?: number;
  /** MindSpore's convention: running = momentum * running + (1 - momentum) * batch (torch's 0.1 is 1 - 0.9). */
  momentum?: number;
}

export class BatchNorm2d extends Module {
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly movingMean: Parameter;
  readonly movingVariance: Parameter;
  readonly eps: number;
  readonly momentum: number;

  constructor(readonly numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.9;
    this.gamma = new Parameter([numFeatures], new Float32Array(numFeatures).fill(1));
    this.beta = new Parameter([numFeatures]);
    this.movingMean = new Parameter([numFeatures], undefined, { kind: 'running-statistic' });
    this.movingVariance = new Parameter([numFeatures], new Float32Array(numFeatures).fill(1), { kind: 'running-statistic' });
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(`${this.gamma.name || 'BatchNorm2d'} expects input [N, ${this.numFeatures}, H, W], got [${x.shape.join(', ')}]`);
    }
    const g = ctx.g;
    const [gamma, beta, mean, variance] = [this.gamma, this.beta, this.movingMean, this.movingVariance].map((p) => ctx.parameter(p)) as [SymbolicTensor, SymbolicTensor, SymbolicTensor, SymbolicTensor];
    if (ctx.mode === 'train' && this.training) {
      const result = batchNormTraining(g, x, gamma, beta, mean, variance, this.eps, this.momentum);
      ctx.updateStatistic(this.movingMean, result.newMovingMean);
      ctx.updateStatistic(this.movingVariance, result.newMovingVariance);
      return result.y;
    }
    return batchNormInference(g, x, gamma, beta, mean, variance, this.eps);
  }
}
