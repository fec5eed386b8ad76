/**
 * ConvNeXt-Tiny as torchvision's models/convnext.py ("A ConvNet for the 2020s", Liu et al. 2022):
 * CNBlock = depthwise 7x7, channels-last LayerNorm, Linear 4x, GELU, Linear, layer scale,
 * stochastic depth, residual. Names: features.1.0.block.0.weight, features.1.0.layer_scale,
 * features.2.0.weight (downsampling LayerNorm2d), classifier.2.weight.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { add, mul } from '../graph/ops/elementwise.js';
import type { ForwardContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { Conv2d } from '../nn/layers/conv2d.js';
import { LayerNorm, LayerNorm2d } from '../nn/layers/layer-norm.js';
import { Linear, Permute } from '../nn/layers/linear.js';
import { Flatten, GELU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/sequential.js';
import { StochasticDepth } from '../nn/layers/stochastic.js';
import { FeaturesClassifier } from './classifier.js';

const EPS = 1e-6;
const TRUNC_NORMAL = { kind: 'normal', std: 0.02 } as const;

export class CNBlock extends Module {
  readonly isBlock = true as const;
  readonly block: Sequential;
  readonly layerScale: Parameter;
  readonly stochasticDepth: StochasticDepth;

  constructor(dim: number, layerScale: number, stochasticDepthProb: number, seed: number) {
    super();
    this.block = new Sequential(
      new Conv2d(dim, dim, 7, { padMode: 'pad', padding: 3, groups: dim, hasBias: true, weightInit: TRUNC_NORMAL }),
      new Permute([0, 2, 3, 1]),
      new LayerNorm(dim, EPS),
      new Linear(dim, 4 * dim, { weightInit: TRUNC_NORMAL }),
      new GELU(),
      new Linear(4 * dim, dim, { weightInit: TRUNC_NORMAL }),
      new Permute([0, 3, 1, 2]),
    );
    this.layerScale = new Parameter([dim, 1, 1], new Float32Array(dim).fill(layerScale));
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, seed);
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    let result = this.block.forward(ctx, x);
    result = mul(ctx.g, ctx.parameter(this.layerScale), result);
    result = this.stochasticDepth.forward(ctx, result);
    return add(ctx.g, result, x);
  }
}

export interface ConvNeXtOptions {
  numClasses?: number;
  inChannels?: number;
  /** Largest stochastic-depth rate (the last block's); torchvision's convnext_tiny: 0.1. */
  stochasticDepthProb?: number;
  /** Initial layer scale (1e-6 in the paper). */
  layerScale?: number;
}

/** [channels, next stage's channels or null, blocks]. */
export type ConvNeXtStage = readonly [number, number | null, number];

export class ConvNeXt extends FeaturesClassifier {
  readonly family = 'convnext';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(setting: readonly ConvNeXtStage[], options: ConvNeXtOptions = {}) {
    super(options.inChannels ?? 3);
    const first = setting[0]![0];
    const stem = new Sequential(new Conv2d(this.inChannels, first, 4, { stride: 4, padMode: 'valid', hasBias: true, weightInit: TRUNC_NORMAL }), new LayerNorm2d(first, EPS));
    const layers: Module[] = [stem];
    const totalBlocks = setting.reduce((n, [, , blocks]) => n + blocks, 0);
    const maxRate = options.stochasticDepthProb ?? 0.1;
    let blockId = 0;
    for (const [channels, next, blocks] of setting) {
      const stage: Module[] = [];
      for (let i = 0; i < blocks; i++) {
        stage.push(new CNBlock(channels, options.layerScale ?? 1e-6, (maxRate * blockId) / (totalBlocks - 1), 2000 + blockId));
        blockId++;
      }
      layers.push(new Sequential(...stage));
      if (next !== null) layers.push(new Sequential(new LayerNorm2d(channels, EPS), new Conv2d(channels, next, 2, { stride: 2, padMode: 'valid', hasBias: true, weightInit: TRUNC_NORMAL })));
    }
    this.features = new Sequential(...layers);
    const last = setting[setting.length - 1]!;
    const lastChannels = last[1] ?? last[0];
    // torchvision's LayerNorm2d on the pooled [N, C, 1, 1] map is a LayerNorm over C of [N, C].
    this.classifier = new Sequential(new LayerNorm(lastChannels, EPS), new Flatten(), new Linear(lastChannels, options.numClasses ?? 1000, { weightInit: TRUNC_NORMAL }));
  }
}

/** ConvNeXt-T (torchvision's convnext_tiny). */
export const convnext_tiny = (options: ConvNeXtOptions = {}) => new ConvNeXt([[96, 192, 3], [192, 384, 3], [384, 768, 9], [768, null, 3]], options);
