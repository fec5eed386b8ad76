/**
 * MobileNetV2 as torchvision's models/mobilenetv2.py ("MobileNetV2: Inverted Residuals and Linear
 * Bottlenecks", Sandler et al. 2018). Names: features.N.conv.M..., classifier.1.weight.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { add } from '../graph/ops/elementwise.js';
import type { ForwardContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/layers/batchnorm2d.js';
import { Conv2d } from '../nn/layers/conv2d.js';
import { Dropout } from '../nn/layers/stochastic.js';
import { Linear } from '../nn/layers/linear.js';
import { ReLU6 } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/sequential.js';
import { FeaturesClassifier } from './classifier.js';
import { convNormActivation, makeDivisible } from './layers.js';
import type { MobileNetOptions } from './mobilenetv3.js';

export class InvertedResidualV2 extends Module {
  readonly isBlock = true as const;
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convNormActivation(inp, hidden, 1, new ReLU6()));
    layers.push(convNormActivation(hidden, hidden, 3, new ReLU6(), { stride, groups: hidden }));
    layers.push(new Conv2d(hidden, oup, 1, { padMode: 'pad', weightInit: { kind: 'he-normal', mode: 'fan-out' } }));
    layers.push(new BatchNorm2d(oup));
    this.conv = new Sequential(...layers);
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    const result = this.conv.forward(ctx, x);
    return this.useResConnect ? add(ctx.g, result, x) : result;
  }
}

/** [expand ratio t, channels c, repeats n, first stride s], the paper's Table 2. */
const SETTING: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export class MobileNetV2 extends FeaturesClassifier {
  readonly family = 'mobilenet_v2';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: MobileNetOptions = {}) {
    super(options.inChannels ?? 3);
    const w = options.widthMult ?? 1;
    let inputChannel = makeDivisible(32 * w, 8);
    const lastChannel = makeDivisible(1280 * Math.max(1, w), 8);
    const layers: Module[] = [convNormActivation(this.inChannels, inputChannel, 3, new ReLU6(), { stride: options.smallInput ? 1 : 2 })];
    for (const [t, c, n, s] of SETTING) {
      const outputChannel = makeDivisible(c * w, 8);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidualV2(inputChannel, outputChannel, i === 0 ? s : 1, t));
        inputChannel = outputChannel;
      }
    }
    layers.push(convNormActivation(inputChannel, lastChannel, 1, new ReLU6()));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(options.dropout ?? 0.2, 2), new Linear(lastChannel, options.numClasses ?? 1000));
  }
}

/** MobileNetV2 (torchvision's mobilenet_v2). */
export const mobilenet_v2 = (options: MobileNetOptions = {}) => new MobileNetV2(options);
