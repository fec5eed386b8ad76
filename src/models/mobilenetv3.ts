/**
 * MobileNetV3 as torchvision's models/mobilenetv3.py ("Searching for MobileNetV3", Howard et al.
 * 2019): the bneck configuration table, `InvertedResidual`, one factory per variant. Parameter
 * names are torchvision's (features.4.block.2.fc1.weight, classifier.3.weight), BN in tlkit's
 * names (gamma, moving_mean...) that the loader maps from torch's.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { add } from '../graph/ops/elementwise.js';
import type { ForwardContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { Dropout } from '../nn/layers/stochastic.js';
import { Hardsigmoid, Hardswish, ReLU } from '../nn/layers/activation.js';
import { Linear } from '../nn/layers/linear.js';
import { Sequential } from '../nn/layers/sequential.js';
import { SqueezeExcitation } from '../nn/layers/squeeze-excitation.js';
import { FeaturesClassifier } from './classifier.js';
import { convNormActivation, makeDivisible } from './layers.js';

/** torch's BatchNorm2d(eps=0.001, momentum=0.01) in tlkit's convention (running = 0.99 running + 0.01 batch). */
const NORM = { eps: 1e-3, momentum: 0.99 };
/**
 * The small-input variant trains from scratch in short runs: with momentum 0.01 its running
 * statistics were still far from the data after the demo's 2 source epochs (validation at chance,
 * training loss 0.22), so it keeps torch's default 0.1.
 */
const SMALL_INPUT_NORM = { eps: 1e-3, momentum: 0.9 };

export interface BneckConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  activation: 'RE' | 'HS';
  stride: number;
}

function bneck(inputChannels: number, kernel: number, expandedChannels: number, outChannels: number, useSe: boolean, activation: 'RE' | 'HS', stride: number, widthMult = 1): BneckConfig {
  const adjust = (c: number) => makeDivisible(c * widthMult, 8);
  return { inputChannels: adjust(inputChannels), kernel, expandedChannels: adjust(expandedChannels), outChannels: adjust(outChannels), useSe, activation, stride };
}

export class InvertedResidual extends Module {
  readonly isBlock = true as const;
  readonly block: Sequential;
  readonly useResConnect: boolean;

  constructor(cnf: BneckConfig, norm: { eps: number; momentum: number } = NORM) {
    super();
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const activation = () => (cnf.activation === 'HS' ? new Hardswish() : new ReLU());
    const layers: Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) layers.push(convNormActivation(cnf.inputChannels, cnf.expandedChannels, 1, activation(), { norm }));
    layers.push(convNormActivation(cnf.expandedChannels, cnf.expandedChannels, cnf.kernel, activation(), { stride: cnf.stride, groups: cnf.expandedChannels, norm }));
    if (cnf.useSe) layers.push(new SqueezeExcitation(cnf.expandedChannels, makeDivisible(Math.floor(cnf.expandedChannels / 4), 8), new ReLU(), new Hardsigmoid()));
    layers.push(convNormActivation(cnf.expandedChannels, cnf.outChannels, 1, null, { norm }));
    this.block = new Sequential(...layers);
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    const result = this.block.forward(ctx, x);
    return this.useResConnect ? add(ctx.g, result, x) : result;
  }
}

export interface MobileNetOptions {
  numClasses?: number;
  /** Input channels: 3 for RGB, 1 for grayscale. */
  inChannels?: number;
  widthMult?: number;
  /** Dropout before the last linear layer in training graphs (torchvision: 0.2). */
  dropout?: number;
  /** A stem for 28-64 px images: the first conv at stride 1 instead of 2. */
  smallInput?: boolean;
}

export class MobileNetV3 extends FeaturesClassifier {
  readonly family = 'mobilenet_v3';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(setting: BneckConfig[], lastChannel: number, options: MobileNetOptions = {}) {
    super(options.inChannels ?? 3);
    const first = setting[0]!.inputChannels;
    const norm = options.smallInput ? SMALL_INPUT_NORM : NORM;
    const layers: Module[] = [convNormActivation(this.inChannels, first, 3, new Hardswish(), { stride: options.smallInput ? 1 : 2, norm })];
    for (const cnf of setting) layers.push(new InvertedResidual(cnf, norm));
    const lastConvInput = setting[setting.length - 1]!.outChannels;
    const lastConvOutput = 6 * lastConvInput;
    layers.push(convNormActivation(lastConvInput, lastConvOutput, 1, new Hardswish(), { norm }));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(
      new Linear(lastConvOutput, lastChannel),
      new Hardswish(),
      new Dropout(options.dropout ?? 0.2, 3),
      new Linear(lastChannel, options.numClasses ?? 1000),
    );
  }
}

/** MobileNetV3-Large (torchvision's mobilenet_v3_large). */
export function mobilenet_v3_large(options: MobileNetOptions = {}): MobileNetV3 {
  const w = options.widthMult ?? 1;
  const setting = [
    bneck(16, 3, 16, 16, false, 'RE', 1, w),
    bneck(16, 3, 64, 24, false, 'RE', 2, w),
    bneck(24, 3, 72, 24, false, 'RE', 1, w),
    bneck(24, 5, 72, 40, true, 'RE', 2, w),
    bneck(40, 5, 120, 40, true, 'RE', 1, w),
    bneck(40, 5, 120, 40, true, 'RE', 1, w),
    bneck(40, 3, 240, 80, false, 'HS', 2, w),
    bneck(80, 3, 200, 80, false, 'HS', 1, w),
    bneck(80, 3, 184, 80, false, 'HS', 1, w),
    bneck(80, 3, 184, 80, false, 'HS', 1, w),
    bneck(80, 3, 480, 112, true, 'HS', 1, w),
    bneck(112, 3, 672, 112, true, 'HS', 1, w),
    bneck(112, 5, 672, 160, true, 'HS', 2, w),
    bneck(160, 5, 960, 160, true, 'HS', 1, w),
    bneck(160, 5, 960, 160, true, 'HS', 1, w),
  ];
  return new MobileNetV3(setting, makeDivisible(1280 * w, 8), options);
}

/** MobileNetV3-Small (torchvision's mobilenet_v3_small). */
export function mobilenet_v3_small(options: MobileNetOptions = {}): MobileNetV3 {
  const w = options.widthMult ?? 1;
  const setting = [
    bneck(16, 3, 16, 16, true, 'RE', 2, w),
    bneck(16, 3, 72, 24, false, 'RE', 2, w),
    bneck(24, 3, 88, 24, false, 'RE', 1, w),
    bneck(24, 5, 96, 40, true, 'HS', 2, w),
    bneck(40, 5, 240, 40, true, 'HS', 1, w),
    bneck(40, 5, 240, 40, true, 'HS', 1, w),
    bneck(40, 5, 120, 48, true, 'HS', 1, w),
    bneck(48, 5, 144, 48, true, 'HS', 1, w),
    bneck(48, 5, 288, 96, true, 'HS', 2, w),
    bneck(96, 5, 576, 96, true, 'HS', 1, w),
    bneck(96, 5, 576, 96, true, 'HS', 1, w),
  ];
  return new MobileNetV3(setting, makeDivisible(1024 * w, 8), options);
}
