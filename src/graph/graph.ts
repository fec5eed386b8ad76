import type { AttributeValue, ElementType, GraphNode, GraphValueInfo, Initializer, SymbolicTensor } from './ir.js';
import { numel } from '../tensor.js';

/** What a recorded op needs to emit its backward: given output grads, return input grads (null = none). */
export type BackwardRule = (outputGrads: Array<SymbolicTensor | null>) => Array<SymbolicTensor | null>;

export interface TapeEntry {
  readonly inputs: SymbolicTensor[];
  readonly outputs: SymbolicTensor[];
  readonly backward: BackwardRule;
}

/**
 * A graph under construction: nodes, constants, graph inputs/outputs, and the tape of
 * differentiable ops. Ops (graph/ops/*) emit nodes through `emit` and record their backward
 * rule with `record`; autodiff.ts walks the tape in reverse.
 */
export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: GraphValueInfo[] = [];
  readonly outputs: Array<{ value: SymbolicTensor; name: string; dynamicBatch?: boolean }> = [];
  readonly tape: TapeEntry[] = [];
  /** Operator sets the model declares; unset = tlkit's own (ai.onnx 17). Imported graphs keep their file's. */
  opsetImports: Array<{ domain: string; version: number }> | undefined;
  /** Operator sets beyond ai.onnx that emitted nodes use (`emitIn`), by domain: version. */
  readonly extraOpsets = new Map<string, number>();
  /**
   * ORT CPU's NCHWc channel block (16 with AVX-512, 8 with AVX2; runtime/nchwc.ts asks ORT), or 0:
   * ops may then emit ORT's com.microsoft.nchwc kernels where they measured faster than the
   * standard formulation. 0 (the default) keeps a graph to standard ops, as browsers need.
   */
  nchwcBlock = 0;
  private readonly requiresGradient = new Set<string>();
  private readonly constantCache = new Map<string, SymbolicTensor>();
  private readonly usedNames = new Set<string>();
  private counter = 0;

  private freshName(prefix: string): string {
    let name: string;
    do {
      name = `${prefix}_${this.counter++}`;
    } while (this.usedNames.has(name));
    this.usedNames.add(name);
    return name;
  }

  private reserve(name: string): void {
    if (this.usedNames.has(name)) throw new Error(`graph value name "${name}" is used twice`);
    this.usedNames.add(name);
  }

  /**
   * Reserves a value name taken from an imported file, so that fresh names never collide with it;
   * returns the name, suffixed if the graph already uses it.
   */
  claimName(name: string): string {
    let claimed = name;
    for (let k = 1; this.usedNames.has(claimed); k++) claimed = `${name}__${k}`;
    this.usedNames.add(claimed);
    return claimed;
  }

  input(name: string, shape: readonly number[], type: ElementType = 'float32', options: { requiresGrad?: boolean; dynamicBatch?: boolean } = {}): SymbolicTensor {
    this.reserve(name);
    const declared = options.dynamicBatch ? ['batch', ...shape.slice(1)] : [...shape];
    this.inputs.push({ name, type, shape: declared });
    const tensor: SymbolicTensor = { name, shape: [...shape], type };
    if (options.requiresGrad) this.requiresGradient.add(name);
    return tensor;
  }

  /** A named constant (a frozen weight). Not deduplicated: names matter for inspection. */
  initializer(name: string, shape: readonly number[], data: Float32Array): SymbolicTensor {
    this.reserve(name);
    if (data.length !== numel(shape)) {
      throw new Error(`initializer ${name}: ${data.length} values for shape [${shape.join(', ')}]`);
    }
    this.initializers.push({ name, type: 'float32', shape: [...shape], data });
    return { name, shape: [...shape], type: 'float32' };
  }

  constant(values: number | readonly number[], shape?: readonly number[]): SymbolicTensor {
    const list = typeof values === 'number' ? [values] : [...values];
    const dims = shape ? [...shape] : typeof values === 'number' ? [] : [list.length];
    return this.cachedConstant('float32', list, dims, () => new Float32Array(list));
  }

  constantInt64(values: number | readonly number[], shape?: readonly number[]): SymbolicTensor {
    const list = typeof values === 'number' ? [values] : [...values];
    const dims = shape ? [...shape] : typeof values === 'number' ? [] : [list.length];
    return this.cachedConstant('int64', list, dims, () => BigInt64Array.from(list.map((v) => BigInt(v))));
  }

  private cachedConstant(type: ElementType, list: number[], dims: number[], make: () => Float32Array | BigInt64Array): SymbolicTensor {
    const key = `${type}|${dims.join(',')}|${list.join(',')}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const name = this.freshName('const');
    this.initializers.push({ name, type, shape: dims, data: make() });
    const tensor: SymbolicTensor = { name, shape: dims, type };
    this.constantCache.set(key, tensor);
    return tensor;
  }

  /** Emits one ONNX node; the caller supplies each output's shape (the op's shape rule). */
  emit(opType: string, inputs: Array<SymbolicTensor | null>, outputShapes: ReadonlyArray<readonly number[]>, attributes: Record<string, AttributeValue> = {}, outputTypes?: ElementType[]): SymbolicTensor[] {
    const outputs = outputShapes.map((shape, i) => ({
      name: this.freshName(opType.toLowerCase()),
      shape: [...shape],
      type: outputTypes?.[i] ?? inputs.find((x) => x !== null)?.type ?? 'float32',
    }));
    this.nodes.push({ opType, inputs: inputs.map((x) => (x === null ? '' : x.name)), outputs: outputs.map((o) => o.name), attributes });
    return outputs;
  }

  emit1(opType: string, inputs: Array<SymbolicTensor | null>, outputShape: readonly number[], attributes: Record<string, AttributeValue> = {}, outputType?: ElementType): SymbolicTensor {
    return this.emit(opType, inputs, [outputShape], attributes, outputType ? [outputType] : undefined)[0]!;
  }

  /** One node of another operator set (e.g. ORT's com.microsoft.nchwc); the model then imports that set. */
  emitIn(domain: string, version: number, opType: string, inputs: Array<SymbolicTensor | null>, outputShape: readonly number[], attributes: Record<string, AttributeValue> = {}): SymbolicTensor {
    const output: SymbolicTensor = { name: this.freshName(opType.toLowerCase()), shape: [...outputShape], type: inputs.find((x) => x !== null)?.type ?? 'float32' };
    this.nodes.push({ opType, domain, inputs: inputs.map((x) => (x === null ? '' : x.name)), outputs: [output.name], attributes });
    this.extraOpsets.set(domain, version);
    return output;
  }

  requiresGrad(tensor: SymbolicTensor): boolean {
    return this.requiresGradient.has(tensor.name);
  }

  /** Records a differentiable op; outputs require grad when any input does. */
  record(inputs: SymbolicTensor[], outputs: SymbolicTensor[], backward: BackwardRule): void {
    if (!inputs.some((x) => this.requiresGradient.has(x.name))) return;
    // An op that folded to its input (scale by 1, reshape to the same shape) is no op at all:
    // recording it would send the output's gradient to the input a second time.
    if (outputs.some((o) => inputs.includes(o))) return;
    for (const o of outputs) this.requiresGradient.add(o.name);
    this.tape.push({ inputs, outputs, backward });
  }

  output(value: SymbolicTensor, name: string, options: { dynamicBatch?: boolean } = {}): void {
    this.reserve(name);
    this.outputs.push({ value, name, dynamicBatch: options.dynamicBatch });
  }
}
