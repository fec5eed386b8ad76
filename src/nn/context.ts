import type { Graph } from '../graph/graph.js';
import type { SymbolicTensor } from '../graph/ir.js';
import type { Parameter } from './parameter.js';

/**
 * How a module's forward turns parameters into graph values. An inference build makes every
 * parameter a constant (so ORT folds BN into convs); a training build makes trainable ones
 * graph inputs and collects the running-statistic updates of BN layers in training mode.
 */
export interface ForwardContext {
  readonly g: Graph;
  readonly mode: 'inference' | 'train';
  parameter(p: Parameter): SymbolicTensor;
  /** Called by BN in training mode: the graph must output `updated` as the next value of `statistic`. */
  updateStatistic(statistic: Parameter, updated: SymbolicTensor): void;
}

export class InferenceContext implements ForwardContext {
  readonly mode = 'inference' as const;
  private readonly values = new Map<Parameter, SymbolicTensor>();
  constructor(readonly g: Graph) {}

  parameter(p: Parameter): SymbolicTensor {
    let value = this.values.get(p);
    if (!value) {
      value = this.g.initializer(p.name, p.shape, p.data);
      this.values.set(p, value);
    }
    return value;
  }

  updateStatistic(): void {
    throw new Error('running statistics are not updated in an inference graph');
  }
}

export class TrainingContext implements ForwardContext {
  readonly mode = 'train' as const;
  readonly trainable: Array<{ parameter: Parameter; value: SymbolicTensor }> = [];
  readonly statistics: Array<{ parameter: Parameter; value: SymbolicTensor; updated?: SymbolicTensor }> = [];
  private readonly values = new Map<Parameter, SymbolicTensor>();
  constructor(readonly g: Graph, private readonly statisticsUpdate: (p: Parameter) => boolean) {}

  parameter(p: Parameter): SymbolicTensor {
    let value = this.values.get(p);
    if (value) return value;
    if (p.kind === 'weight' && p.requiresGrad) {
      value = this.g.input(p.name, p.shape, 'float32', { requiresGrad: true });
      this.trainable.push({ parameter: p, value });
    } else if (p.kind === 'running-statistic' && this.statisticsUpdate(p)) {
      value = this.g.input(p.name, p.shape);
      this.statistics.push({ parameter: p, value });
    } else {
      value = this.g.initializer(p.name, p.shape, p.data);
    }
    this.values.set(p, value);
    return value;
  }

  updateStatistic(statistic: Parameter, updated: SymbolicTensor): void {
    const entry = this.statistics.find((s) => s.parameter === statistic);
    if (!entry) throw new Error(`${statistic.name} is not a graph input of this training graph`);
    entry.updated = updated;
  }
}
