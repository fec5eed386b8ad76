import { numel } from '../tensor.js';
import { deferInitializer, type Initializer } from './init.js';

export type ParameterKind = 'weight' | 'running-statistic';

/**
 * A named tensor of a network. `name` is the full dotted path (`layer1.0.conv1.weight`),
 * assigned when the module tree is walked, so replacing a child (`net.fc = new Dense(...)`)
 * renames nothing by hand. BatchNorm's moving statistics are parameters too, as in MindSpore,
 * but of kind 'running-statistic': never trained, updated by BN in training mode.
 */
export class Parameter {
  name = '';
  requiresGrad: boolean;
  readonly kind: ParameterKind;
  readonly size: number;
  private values: Float32Array | undefined;
  /** Fills the initial values on first read; dropped when values are assigned first. */
  private pending: (() => Float32Array) | undefined;

  /**
   * `init` draws the initial values lazily, from the random stream position this parameter had
   * at construction (so values are the same as drawn eagerly, and seeded runs reproduce): weights
   * that a file then provides are never drawn. Measured: building ResNet-50 took 1.8 s, nearly all
   * of it Normal(0, 0.02) draws for 25M weights that the checkpoint replaced.
   */
  constructor(readonly shape: readonly number[], data?: Float32Array, options: { kind?: ParameterKind; requiresGrad?: boolean; init?: Initializer } = {}) {
    this.size = numel(shape);
    if (data && data.length !== this.size) throw new Error(`parameter data has ${data.length} values, shape [${shape.join(', ')}] needs ${this.size}`);
    this.values = data;
    if (!data && options.init) this.pending = deferInitializer(shape, options.init);
    this.kind = options.kind ?? 'weight';
    this.requiresGrad = options.requiresGrad ?? this.kind === 'weight';
  }

  get data(): Float32Array {
    if (!this.values) {
      this.values = this.pending ? this.pending() : new Float32Array(this.size);
      this.pending = undefined;
    }
    return this.values;
  }

  /** Takes the array as is (no copy): training steps hand over ORT's output buffers. */
  set data(values: Float32Array) {
    if (values.length !== this.size) {
      throw new Error(`${this.name || 'parameter'}: ${values.length} values given, shape [${this.shape.join(', ')}] needs ${this.size}`);
    }
    this.values = values;
    this.pending = undefined;
  }
}
