/**
 * An imported ONNX classifier as a tlkit network: the graph between consecutive cut points as
 * stages (named by the tensor each one reads, so `--from-stage T` trains from tensor T on), the
 * features at the cut, and `fc`, a Dense head as for the native models.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import type { ForwardContext } from '../nn/context.js';
import { Dense } from '../nn/layers/dense.js';
import { Flatten } from '../nn/layers/activation.js';
import * as p from '../graph/ops/primitives.js';
import { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { CutPoint, GraphView } from './analyze.js';
import type { NodeProto } from './read.js';
import { emitTrainable } from './trainable.js';
import { emitVerbatim } from './verbatim.js';

export interface Preprocessing {
  /** Crop size the model expects (square). */
  imageSize: number;
  /** Per-channel mean and std on the 0-255 pixel scale (as tlkit's Normalize). */
  mean: number[];
  std: number[];
  /** Where these came from: 'user', 'metadata', or 'default' (ImageNet). */
  source: 'user' | 'metadata' | 'default';
}

/** Nodes between two cut points; runs as the file's own nodes when frozen, as differentiable ops when trained. */
export class OnnxSegment extends Module {
  constructor(
    readonly view: GraphView,
    readonly inputName: string,
    readonly outputName: string,
    readonly nodes: NodeProto[],
    /** Shape at batch 1 of the output. */
    readonly outputShape: readonly number[],
    private readonly params: Map<string, Parameter>,
    /** The cut point after this one: what --from-stage would name to keep this segment frozen. */
    readonly nextStage: string,
  ) {
    super();
  }

  /** Parameters keep the file's initializer names (no snake_case, no module prefix). */
  override namedOwnParameters(): Array<[string, Parameter]> {
    const names = new Set(this.nodes.flatMap((n) => n.input ?? []));
    return [...this.params].filter(([name]) => names.has(name));
  }

  override namedParameters(prefix = ''): Array<[string, Parameter]> {
    return this.namedOwnParameters().map(([name, p]) => [prefix + name, p]);
  }

  private trains(ctx: ForwardContext, x: SymbolicTensor): boolean {
    if (ctx.mode !== 'train') return false;
    if (ctx.g.requiresGrad(x)) return true;
    return this.namedOwnParameters().some(([, p]) => p.kind === 'weight' && p.requiresGrad) || (this.training && this.nodes.some((n) => n.opType === 'BatchNormalization'));
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    if (!this.trains(ctx, x)) return emitVerbatim({ view: this.view, ctx, params: this.params }, this.nodes, this.inputName, x, this.outputName, this.outputShape);
    const hint = this.nextStage ? `--from-stage '${this.nextStage}' (or --cut '${this.nextStage}')` : '--mode fixed-feature';
    return emitTrainable({ view: this.view, ctx, params: this.params, bnTraining: this.training, keepFrozenHint: hint }, this.nodes, this.inputName, x, this.outputName);
  }
}

/**
 * Global average pooling of a feature-map cut as ONNX GlobalAveragePool: unlike ReduceMean (axes
 * an attribute until opset 18, an input from then on), it means the same in every opset a file may
 * declare, and the frozen graph keeps the file's opsets.
 */
export class GlobalAveragePool extends Module {
  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    const g = ctx.g;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const y = g.emit1('GlobalAveragePool', [x], [n, c, 1, 1]);
    g.record([x], [y], ([dy]) => [p.expand(g, p.scale(g, dy!, 1 / (h * w)), x.shape)]);
    return y;
  }
}

export interface ImportedModelParts {
  source: string;
  view: GraphView;
  segments: OnnxSegment[];
  cuts: Array<CutPoint & { shape: number[] }>;
  cut: string;
  featureShape: number[];
  head: Module;
  /** The original head's trailing nodes (Softmax...), run only while the original head is kept. */
  tail?: OnnxSegment;
  inputShape: number[];
  preprocessing: Preprocessing;
}

export class ImportedModel extends Module {
  readonly source: string;
  readonly view: GraphView;
  readonly segments: OnnxSegment[];
  /** Every cut point of the graph, with its shape at batch 1. */
  readonly cuts: Array<CutPoint & { shape: number[] }>;
  /** The tensor whose values are the features (the head's input, pooled when it is a feature map). */
  readonly cut: string;
  readonly pool: Module | undefined;
  readonly flatten: Module | undefined;
  fc: Module;
  readonly originalHead: Module;
  readonly tail: OnnxSegment | undefined;
  readonly featureChannels: number;
  /** One sample's shape [C, H, W]. */
  readonly inputShape: number[];
  readonly preprocessing: Preprocessing;

  constructor(parts: ImportedModelParts) {
    super();
    this.source = parts.source;
    this.view = parts.view;
    this.segments = parts.segments;
    this.cuts = parts.cuts;
    this.cut = parts.cut;
    if (parts.featureShape.length === 4) {
      this.pool = new GlobalAveragePool();
      this.flatten = new Flatten();
    } else if (parts.featureShape.length !== 2) {
      throw new Error(`${parts.source}: the features at '${parts.cut}' have shape [${parts.featureShape.join(', ')}]; cut at an [N, C, H, W] or [N, F] tensor`);
    }
    this.featureChannels = parts.featureShape[1]!;
    this.fc = parts.head;
    this.originalHead = parts.head;
    this.tail = parts.tail;
    this.inputShape = parts.inputShape;
    this.preprocessing = parts.preprocessing;
  }

  get inChannels(): number {
    return this.inputShape[0]!;
  }

  /** The tutorial's `net.fc = nn.Dense(in_channels, classes)` for an imported body. */
  replaceHead(classes: number): this {
    this.fc = new Dense(this.featureChannels, classes);
    return this;
  }

  /** Body stages up to the cut, then pooling (for a feature map), then the head. */
  bodyStages(): Array<[string, Module]> {
    const stages: Array<[string, Module]> = this.segments.map((s) => [s.inputName, s]);
    if (this.pool && this.flatten) stages.push(['pool', this.pool], ['flatten', this.flatten]);
    return stages;
  }

  stages(): Array<[string, Module]> {
    const stages = [...this.bodyStages(), ['fc', this.fc] as [string, Module]];
    if (this.tail && this.fc === this.originalHead) stages.push(['output', this.tail]);
    return stages;
  }

  override namedChildren(): Array<[string, Module]> {
    return this.stages().map(([name, m]) => [name, m]);
  }

  /** The file's names for the body's weights; `fc.*` for the head. Shared initializers appear once. */
  override namedParameters(prefix = ''): Array<[string, Parameter]> {
    const seen = new Set<Parameter>();
    const out: Array<[string, Parameter]> = [];
    for (const [name, stage] of this.stages()) {
      const entries = stage === this.fc ? stage.namedParameters(`${prefix}fc.`) : stage.namedParameters(prefix);
      for (const [n, p] of entries) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([n, p]);
      }
      void name;
    }
    return out;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return this.stages().reduce((y, [, stage]) => stage.forward(ctx, y), x);
  }
}
