/**
 * ResNet as in the tutorial and torchvision's resnet.py: two block classes, `makeLayer`,
 * `ResNet`, one factory per depth. Parameter names match the tutorial's network
 * (conv1.weight, norm.gamma, layer1.0.norm1.gamma, layer1.0.down_sample.0.weight, fc.weight).
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { add } from '../graph/ops/elementwise.js';
import type { ForwardContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/layers/batchnorm2d.js';
import { Conv2d, type PadMode } from '../nn/layers/conv2d.js';
import { Dense } from '../nn/layers/dense.js';
import { Flatten, Identity, ReLU } from '../nn/layers/activation.js';
import { GlobalAvgPool2d, MaxPool2d } from '../nn/layers/pool.js';
import { Sequential } from '../nn/layers/sequential.js';
import type { Initializer } from '../nn/init.js';
import type { ImageClassifier } from './classifier.js';
import type { PretrainedPreprocessing } from './pretrained.js';

export interface BlockOptions {
  stride?: number;
  downSample?: Module;
  padMode?: PadMode;
  weightInit?: Initializer;
}

function conv(inChannels: number, outChannels: number, kernel: number, stride: number, options: BlockOptions): Conv2d {
  return new Conv2d(inChannels, outChannels, kernel, { stride, padMode: options.padMode ?? 'same', padding: Math.floor(kernel / 2), weightInit: options.weightInit });
}

/** The basic block (ResNet18/34). Unlike the tutorial's, each conv has its own norm and conv2 takes outChannel inputs. */
export class ResidualBlockBase extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly norm1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu = new ReLU();
  readonly downSample: Module | undefined;

  constructor(inChannel: number, outChannel: number, options: BlockOptions = {}) {
    super();
    this.conv1 = conv(inChannel, outChannel, 3, options.stride ?? 1, options);
    this.norm1 = new BatchNorm2d(outChannel);
    this.conv2 = conv(outChannel, outChannel, 3, 1, options);
    this.norm2 = new BatchNorm2d(outChannel);
    this.downSample = options.downSample;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    let out = this.relu.forward(ctx, this.norm1.forward(ctx, this.conv1.forward(ctx, x)));
    out = this.norm2.forward(ctx, this.conv2.forward(ctx, out));
    const identity = this.downSample ? this.downSample.forward(ctx, x) : x;
    return this.relu.forward(ctx, add(ctx.g, out, identity));
  }
}

/** The bottleneck block (ResNet50/101/152): 1x1, 3x3 (carries the stride), 1x1 with 4x the channels. */
export class ResidualBlock extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly norm1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly norm3: BatchNorm2d;
  readonly relu = new ReLU();
  readonly downSample: Module | undefined;

  constructor(inChannel: number, outChannel: number, options: BlockOptions = {}) {
    super();
    this.conv1 = conv(inChannel, outChannel, 1, 1, options);
    this.norm1 = new BatchNorm2d(outChannel);
    this.conv2 = conv(outChannel, outChannel, 3, options.stride ?? 1, options);
    this.norm2 = new BatchNorm2d(outChannel);
    this.conv3 = conv(outChannel, outChannel * ResidualBlock.expansion, 1, 1, options);
    this.norm3 = new BatchNorm2d(outChannel * ResidualBlock.expansion);
    this.downSample = options.downSample;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    let out = this.relu.forward(ctx, this.norm1.forward(ctx, this.conv1.forward(ctx, x)));
    out = this.relu.forward(ctx, this.norm2.forward(ctx, this.conv2.forward(ctx, out)));
    out = this.norm3.forward(ctx, this.conv3.forward(ctx, out));
    const identity = this.downSample ? this.downSample.forward(ctx, x) : x;
    return this.relu.forward(ctx, add(ctx.g, out, identity));
  }
}

export type BlockType = typeof ResidualBlockBase | typeof ResidualBlock;

export function makeLayer(lastOutChannel: number, block: BlockType, channel: number, blockNums: number, stride = 1, options: Omit<BlockOptions, 'stride' | 'downSample'> = {}): Sequential {
  let downSample: Module | undefined;
  if (stride !== 1 || lastOutChannel !== channel * block.expansion) {
    downSample = new Sequential(conv(lastOutChannel, channel * block.expansion, 1, stride, options), new BatchNorm2d(channel * block.expansion));
  }
  const layers: Module[] = [new block(lastOutChannel, channel, { ...options, stride, downSample })];
  for (let i = 1; i < blockNums; i++) layers.push(new block(channel * block.expansion, channel, options));
  return new Sequential(...layers);
}

export interface ResNetOptions {
  numClasses?: number;
  /** 'same' for MindSpore checkpoints (the tutorial's), 'pad' for torchvision/timm weights. */
  padMode?: PadMode;
  /** Input channels: 3 for RGB, 1 for grayscale. */
  inChannels?: number;
  /** Channels of layer1 (64 in the paper); smaller widths make small, fast networks. */
  width?: number;
  /** A stem for 28-32 px images: 3x3 stride-1 conv1 and no max pool. */
  smallInput?: boolean;
  weightInit?: Initializer;
}

export class ResNet extends Module implements ImageClassifier {
  readonly family = 'resnet';
  readonly headName = 'fc';
  preprocessing?: PretrainedPreprocessing;
  readonly relu = new ReLU();
  readonly conv1: Conv2d;
  readonly norm: BatchNorm2d;
  maxPool: Module;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  /** Global average pooling by default; the tutorial swaps in AvgPool2d(7), which is the same at 224 px. */
  avgPool: Module = new GlobalAvgPool2d();
  readonly flatten = new Flatten();
  fc: Module;
  readonly padMode: PadMode;
  readonly featureChannels: number;

  constructor(block: BlockType, layerNums: readonly [number, number, number, number], options: ResNetOptions = {}) {
    super();
    const width = options.width ?? 64;
    const blockOptions = { padMode: options.padMode ?? 'same', weightInit: options.weightInit };
    this.padMode = blockOptions.padMode;
    const inChannels = options.inChannels ?? 3;
    this.conv1 = options.smallInput
      ? conv(inChannels, width, 3, 1, blockOptions)
      : conv(inChannels, width, 7, 2, blockOptions);
    this.norm = new BatchNorm2d(width);
    this.maxPool = options.smallInput ? new Identity() : new MaxPool2d(3, { stride: 2, padMode: this.padMode === 'same' ? 'same' : 'pad', padding: 1 });
    this.layer1 = makeLayer(width, block, width, layerNums[0], 1, blockOptions);
    this.layer2 = makeLayer(width * block.expansion, block, width * 2, layerNums[1], 2, blockOptions);
    this.layer3 = makeLayer(width * 2 * block.expansion, block, width * 4, layerNums[2], 2, blockOptions);
    this.layer4 = makeLayer(width * 4 * block.expansion, block, width * 8, layerNums[3], 2, blockOptions);
    this.featureChannels = width * 8 * block.expansion;
    this.fc = new Dense(this.featureChannels, options.numClasses ?? 1000);
  }

  get inChannels(): number {
    return this.conv1.inChannels;
  }

  get headInFeatures(): number {
    return this.featureChannels;
  }

  numClasses(): number {
    const weight = this.fc.namedParameters().find(([name]) => name === 'weight');
    if (!weight) throw new Error('the model has no fc.weight');
    return weight[1].shape[0]!;
  }

  replaceHead(classes: number): void {
    this.fc = new Dense(this.featureChannels, classes);
  }

  /**
   * The network as a flat list of steps, blocks kept whole: the engine splits it where the
   * first trainable step begins (frozen prefix as an inference graph, the rest as a training graph).
   */
  stages(): Array<[string, Module]> {
    const top: Array<[string, Module]> = [['conv1', this.conv1], ['norm', this.norm], ['relu', this.relu], ['max_pool', this.maxPool]];
    for (const [name, layer] of [['layer1', this.layer1], ['layer2', this.layer2], ['layer3', this.layer3], ['layer4', this.layer4]] as const) {
      layer.layers.forEach((block, i) => top.push([`${name}.${i}`, block]));
    }
    top.push(['avg_pool', this.avgPool], ['flatten', this.flatten], ['fc', this.fc]);
    return top;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return this.stages().reduce((y, [, stage]) => stage.forward(ctx, y), x);
  }
}

export const resnet18 = (options: ResNetOptions = {}) => new ResNet(ResidualBlockBase, [2, 2, 2, 2], options);
export const resnet34 = (options: ResNetOptions = {}) => new ResNet(ResidualBlockBase, [3, 4, 6, 3], options);
export const resnet50 = (options: ResNetOptions = {}) => new ResNet(ResidualBlock, [3, 4, 6, 3], options);
export const resnet101 = (options: ResNetOptions = {}) => new ResNet(ResidualBlock, [3, 4, 23, 3], options);
export const resnet152 = (options: ResNetOptions = {}) => new ResNet(ResidualBlock, [3, 8, 36, 3], options);

export const RESNET_FACTORIES = { resnet18, resnet34, resnet50, resnet101, resnet152 } as const;
export type ResNetName = keyof typeof RESNET_FACTORIES;
