/**
 * What the training, transfer and CLI code needs from any image classifier (ResNet, MobileNet,
 * EfficientNet, ConvNeXt): its steps in order, its input channels, and its head (named per family:
 * `fc` for ResNet, `classifier` for the others), which transfer learning replaces.
 */
import type { PadMode } from '../nn/layers/conv2d.js';
import { Dense } from '../nn/layers/dense.js';
import { LayerNorm } from '../nn/layers/layer-norm.js';
import { Flatten } from '../nn/layers/activation.js';
import { GlobalAvgPool2d } from '../nn/layers/pool.js';
import { Sequential } from '../nn/layers/sequential.js';
import { Module } from '../nn/module.js';
import type { PretrainedPreprocessing } from './pretrained.js';

export interface ImageClassifier extends Module {
  /** The model family (`resnet`, `mobilenet_v3`...), for messages. */
  readonly family: string;
  readonly inChannels: number;
  /** Width of the pooled, flattened features (the `flatten` stage's output). */
  readonly featureChannels: number;
  /** Width of the features the final linear layer reads. */
  readonly headInFeatures: number;
  /** Name prefix of the head's parameters: what fixed-feature training trains. */
  readonly headName: string;
  readonly padMode: PadMode;
  /** The network as a flat list of steps (blocks kept whole): the engine splits it where training begins. */
  stages(): Array<[string, Module]>;
  /** Output classes of the final linear layer. */
  numClasses(): number;
  /** A new final linear layer with `classes` outputs (the tutorial's `net.fc = nn.Dense(in, classes)`). */
  replaceHead(classes: number): void;
  /** How images are prepared for the weights loaded into it (a registry entry's or its config.json's), when known. */
  preprocessing?: PretrainedPreprocessing;
}

/**
 * torchvision's layout for MobileNet, EfficientNet and ConvNeXt: `features` (a Sequential of
 * stages, each a block or a Sequential of blocks), global average pooling, `classifier`.
 */
export abstract class FeaturesClassifier extends Module implements ImageClassifier {
  abstract readonly family: string;
  abstract readonly features: Sequential;
  readonly avgpool: Module = new GlobalAvgPool2d();
  readonly flatten = new Flatten();
  abstract readonly classifier: Sequential;
  readonly headName = 'classifier';
  readonly padMode: PadMode = 'pad';
  preprocessing?: PretrainedPreprocessing;

  constructor(readonly inChannels: number) {
    super();
  }

  /** The final linear layer: the classifier's last child. */
  protected get lastLinear(): Dense {
    const last = this.classifier.layers[this.classifier.layers.length - 1];
    if (!(last instanceof Dense)) throw new Error(`${this.family}: the classifier does not end in a linear layer`);
    return last;
  }

  get featureChannels(): number {
    const first = this.classifier.layers.find((m) => m instanceof Dense || m instanceof LayerNorm);
    if (first instanceof Dense) return first.inChannels;
    if (first instanceof LayerNorm) return first.numFeatures;
    throw new Error(`${this.family}: cannot tell the width of the pooled features`);
  }

  get headInFeatures(): number {
    return this.lastLinear.inChannels;
  }

  numClasses(): number {
    return this.lastLinear.outChannels;
  }

  replaceHead(classes: number): void {
    this.classifier.layers[this.classifier.layers.length - 1] = new Dense(this.headInFeatures, classes);
  }

  /** features.N, or features.N.M where a stage is a Sequential of blocks; then avgpool, flatten, classifier. */
  stages(): Array<[string, Module]> {
    const steps: Array<[string, Module]> = [];
    this.features.layers.forEach((stage, i) => {
      if (stage instanceof Sequential && stage.layers.length > 0 && stage.layers.every(isBlock)) {
        stage.layers.forEach((block, j) => steps.push([`features.${i}.${j}`, block]));
      } else {
        steps.push([`features.${i}`, stage]);
      }
    });
    steps.push(['avgpool', this.avgpool], ['flatten', this.flatten], ['classifier', this.classifier]);
    return steps;
  }

  forward(ctx: Parameters<Module['forward']>[0], x: Parameters<Module['forward']>[1]): ReturnType<Module['forward']> {
    return this.stages().reduce((y, [, stage]) => stage.forward(ctx, y), x);
  }
}

/** Residual blocks mark themselves so a stage of blocks is split into its blocks (not a conv-norm-act triple). */
export interface Block {
  readonly isBlock: true;
}

function isBlock(m: Module): boolean {
  return (m as Partial<Block>).isBlock === true;
}
