/** The model families beyond ResNet, by torchvision's names, with their factories. */
import { convnext_tiny } from './convnext.js';
import { efficientnet_b0, efficientnet_b1, efficientnet_b2, efficientnet_b3 } from './efficientnet.js';
import { mobilenet_v2 } from './mobilenetv2.js';
import { mobilenet_v3_large, mobilenet_v3_small } from './mobilenetv3.js';
import type { FeaturesClassifier } from './classifier.js';

export interface ZooOptions {
  numClasses?: number;
  inChannels?: number;
  /** Classifier dropout in training graphs (default: torchvision's per model). */
  dropout?: number;
  /** Largest stochastic-depth rate (EfficientNet, ConvNeXt; default: torchvision's). */
  stochasticDepthProb?: number;
  /** MobileNets: a stride-1 stem for 28-64 px images. */
  smallInput?: boolean;
}

export const ZOO_FACTORIES: Record<string, (options: ZooOptions) => FeaturesClassifier> = {
  mobilenet_v2: (o) => mobilenet_v2(o),
  mobilenet_v3_large: (o) => mobilenet_v3_large(o),
  mobilenet_v3_small: (o) => mobilenet_v3_small(o),
  efficientnet_b0: (o) => efficientnet_b0(o),
  efficientnet_b1: (o) => efficientnet_b1(o),
  efficientnet_b2: (o) => efficientnet_b2(o),
  efficientnet_b3: (o) => efficientnet_b3(o),
  convnext_tiny: (o) => convnext_tiny(o),
};
