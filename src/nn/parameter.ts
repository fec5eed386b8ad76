import { numel } from '../tensor.js';

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
  private values: Float32Array;

  constructor(readonly shape: readonly number[], data?: Float32Array, options: { kind?: ParameterKind; requiresGrad?: boolean } = {}) {
    const size = numel(shape);
    if (data && data.length !== size) throw new Error(`parameter data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
    this.values = data ?? new Float32Array(size);
    this.kind = options.kind ?? 'weight';
    this.requiresGrad = options.requiresGrad ?? this.kind === 'weight';
  }

  get data(): Float32Array {
    return this.values;
  }

  /** Takes the array as is (no copy): training steps hand over ORT's output buffers. */
  set data(values: Float32Array) {
    if (values.length !== this.values.length) {
      throw new Error(`${this.name || 'parameter'}: ${values.length} values given, shape [${this.shape.join(', ')}] needs ${this.values.length}`);
    }
    this.values = values;
  }
}
