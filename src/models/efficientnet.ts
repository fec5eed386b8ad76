/**
 * EfficientNet B0-B3 as torchvision's models/efficientnet.py ("EfficientNet: Rethinking Model
 * Scaling for CNNs", Tan & Le 2019): MBConv blocks from one table, scaled by width and depth.
 * Names: features.N.M.block.K..., classifier.1.weight.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { add } from '../graph/ops/elementwise.js';
import type { ForwardContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { Dropout, StochasticDepth } from '../nn/layers/stochastic.js';
import { Linear } from '../nn/layers/linear.js';
import { Sigmoid, SiLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/sequential.js';
import { SqueezeExcitation } from '../nn/layers/squeeze-excitation.js';
import { FeaturesClassifier } from './classifier.js';
import { convNormActivation, makeDivisible } from './layers.js';

export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

export class MBConv extends Module {
  readonly isBlock = true as const;
  readonly block: Sequential;
  readonly stochasticDepth: StochasticDepth;
  readonly useResConnect: boolean;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number, seed: number) {
    super();
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const expanded = makeDivisible(cnf.inputChannels * cnf.expandRatio, 8);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels) layers.push(convNormActivation(cnf.inputChannels, expanded, 1, new SiLU()));
    layers.push(convNormActivation(expanded, expanded, cnf.kernel, new SiLU(), { stride: cnf.stride, groups: expanded }));
    layers.push(new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), new SiLU(), new Sigmoid()));
    layers.push(convNormActivation(expanded, cnf.outChannels, 1, null));
    this.block = new Sequential(...layers);
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, seed);
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    let result = this.block.forward(ctx, x);
    if (!this.useResConnect) return result;
    result = this.stochasticDepth.forward(ctx, result);
    return add(ctx.g, result, x);
  }
}

export interface EfficientNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** Dropout before the classifier in training graphs; default per variant (0.2 for B0/B1, 0.3 for B2/B3). */
  dropout?: number;
  /** Largest stochastic-depth rate (the last block's), torchvision's 0.2. */
  stochasticDepthProb?: number;
}

/** [expand ratio, kernel, stride, in, out, layers] of B0 (torchvision's _efficientnet_conf). */
const B0: ReadonlyArray<readonly [number, number, number, number, number, number]> = [
  [1, 3, 1, 32, 16, 1], [6, 3, 2, 16, 24, 2], [6, 5, 2, 24, 40, 2], [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3], [6, 5, 2, 112, 192, 4], [6, 3, 1, 192, 320, 1],
];

export class EfficientNet extends FeaturesClassifier {
  readonly family = 'efficientnet';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(widthMult: number, depthMult: number, defaultDropout: number, options: EfficientNetOptions = {}) {
    super(options.inChannels ?? 3);
    const setting: MBConvConfig[] = B0.map(([expandRatio, kernel, stride, inputChannels, outChannels, numLayers]) => ({
      expandRatio, kernel, stride,
      inputChannels: makeDivisible(inputChannels * widthMult, 8),
      outChannels: makeDivisible(outChannels * widthMult, 8),
      numLayers: Math.ceil(numLayers * depthMult),
    }));
    const layers: Module[] = [convNormActivation(this.inChannels, setting[0]!.inputChannels, 3, new SiLU(), { stride: 2 })];
    const totalBlocks = setting.reduce((n, cnf) => n + cnf.numLayers, 0);
    const maxRate = options.stochasticDepthProb ?? 0.2;
    let blockId = 0;
    for (const cnf of setting) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        stage.push(new MBConv(blockCnf, (maxRate * blockId) / totalBlocks, 1000 + blockId));
        blockId++;
      }
      layers.push(new Sequential(...stage));
    }
    const lastInput = setting[setting.length - 1]!.outChannels;
    const lastOutput = 4 * lastInput;
    layers.push(convNormActivation(lastInput, lastOutput, 1, new SiLU()));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(options.dropout ?? defaultDropout, 2), new Linear(lastOutput, options.numClasses ?? 1000));
  }
}

export const efficientnet_b0 = (options: EfficientNetOptions = {}) => new EfficientNet(1.0, 1.0, 0.2, options);
export const efficientnet_b1 = (options: EfficientNetOptions = {}) => new EfficientNet(1.0, 1.1, 0.2, options);
export const efficientnet_b2 = (options: EfficientNetOptions = {}) => new EfficientNet(1.1, 1.2, 0.3, options);
export const efficientnet_b3 = (options: EfficientNetOptions = {}) => new EfficientNet(1.2, 1.4, 0.3, options);
