/**
 * Int8 QDQ inference graphs, over an inference ModelProto (graph/onnx.ts's toModelProto): BatchNormalization
 * folded into the convolution before it, then QuantizeLinear/DequantizeLinear pairs around every
 * convolution and residual Add, in the layout ONNX Runtime's QDQ transformers fuse into QLinearConv /
 * QLinearAdd on CPU; the graph keeps to standard ONNX ops (opset 13+), so onnxruntime-web runs it too.
 *
 * - Weights: int8, symmetric, one scale per output channel (axis 0), zero point 0.
 * - Biases: int32 with scale input_scale * weight_scale[c] (what QLinearConv computes in).
 * - Activations: uint8 (default) or int8, asymmetric, one static scale per tensor from the calibrated range
 *   (widened to include 0, so zero padding and ReLU's zero are exact).
 * - A ReLU after a quantized op is kept in the graph; its output is what gets quantized, with the range's
 *   minimum at 0, so ORT drops the ReLU into the quantization (uint8 zero point 0 / int8 -128).
 */
import onnxProto from 'onnx-proto';
import { cloneModel } from './onnx.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
const DataType = onnx.TensorProto.DataType;

export type ActivationType = 'uint8' | 'int8';

export interface TensorRange {
  min: number;
  max: number;
}

export interface QdqOptions {
  activations?: ActivationType;
}

export interface QdqSummary {
  /** Convolutions whose weights became int8. */
  convs: number;
  /** Activation tensors with a QuantizeLinear/DequantizeLinear pair. */
  activations: number;
}

/** Ops whose output keeps its input's range (pass-through for ORT's QDQ handling). */
const SAME_RANGE = new Set(['MaxPool', 'Flatten', 'Reshape']);


function graphOf(model: ModelProto): onnxProto.onnx.IGraphProto {
  if (!model.graph) throw new Error('quantize: the model has no graph');
  return model.graph;
}

function floatsOf(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== DataType.FLOAT) throw new Error(`quantize: initializer ${tensor.name} is not float32`);
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    // Read in place where aligned (the weights of tlkit's own graphs are); callers never write into it.
    if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function bytes(data: Float32Array | Int8Array | Uint8Array | Int32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function initializer(name: string, dataType: number, dims: number[], data: Float32Array | Int8Array | Uint8Array | Int32Array): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims, rawData: bytes(data) });
}

function attributeFloat(node: NodeProto, name: string, fallback: number): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute?.f ?? fallback;
}

function consumersOf(nodes: NodeProto[]): Map<string, NodeProto[]> {
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  return consumers;
}

/**
 * BatchNormalization(Conv(x, W[, b])) -> Conv(x, W * s, (b - mean) * s + beta), s = gamma / sqrt(var + eps),
 * where the Conv's output feeds only the BN and W is a constant. ORT does the same when it loads a float
 * graph, but not once W is behind a DequantizeLinear, so a QDQ graph must be folded first.
 */
export function foldBatchNorms(source: ModelProto): { model: ModelProto; folded: number } {
  const model = cloneModel(source);
  const graph = graphOf(model);
  const nodes = graph.node ?? [];
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const consumers = consumersOf(nodes);
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const removed = new Set<NodeProto>();
  let folded = 0;
  for (const bn of nodes) {
    if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).length !== 1) continue;
    const conv = producer.get(bn.input![0]!);
    if (!conv || conv.opType !== 'Conv' || (consumers.get(conv.output![0]!) ?? []).length !== 1) continue;
    const weight = inits.get(conv.input![1]!);
    const params = bn.input!.slice(1, 5).map((name) => inits.get(name));
    if (!weight || params.some((p) => !p) || (consumers.get(weight.name!) ?? []).length !== 1) continue;
    const [gamma, beta, mean, variance] = params.map((p) => floatsOf(p!)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const eps = attributeFloat(bn, 'epsilon', 1e-5);
    const w = floatsOf(weight);
    const channels = gamma.length;
    const per = w.length / channels;
    const oldBias = conv.input![2] ? inits.get(conv.input![2]) : undefined;
    const b = oldBias ? floatsOf(oldBias) : new Float32Array(channels);
    const newW = new Float32Array(w.length);
    const newB = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const scale = gamma[c]! / Math.sqrt(variance[c]! + eps);
      const end = (c + 1) * per;
      for (let k = c * per; k < end; k++) newW[k] = w[k]! * scale;
      newB[c] = (b[c]! - mean[c]!) * scale + beta[c]!;
    }
    weight.rawData = bytes(newW);
    weight.floatData = [];
    const biasName = `${weight.name}.folded_bias`;
    graph.initializer!.push(initializer(biasName, DataType.FLOAT, [channels], newB));
    inits.set(biasName, graph.initializer![graph.initializer!.length - 1]!);
    conv.input = [conv.input![0]!, conv.input![1]!, biasName];
    conv.output = [bn.output![0]!];
    removed.add(bn);
    folded++;
  }
  graph.node = nodes.filter((n) => !removed.has(n));
  pruneInitializers(graph);
  return { model, folded };
}

function pruneInitializers(graph: onnxProto.onnx.IGraphProto): void {
  const used = new Set<string>();
  for (const node of graph.node ?? []) for (const input of node.input ?? []) used.add(input);
  for (const output of graph.output ?? []) used.add(output.name ?? '');
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
}

/**
 * The activation tensors that get a static scale: every Conv's data input, both inputs of every Add, and
 * each Conv/Add's output (or, where a ReLU alone consumes it, the ReLU's output), so each quantized op
 * reads DequantizeLinear outputs and feeds a QuantizeLinear. These are what calibration measures.
 */
export function activationTensors(model: ModelProto): string[] {
  const graph = graphOf(model);
  const nodes = graph.node ?? [];
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const consumers = consumersOf(nodes);
  const wanted = new Set<string>();
  const mark = (name: string | undefined) => {
    if (name && !constants.has(name)) wanted.add(name);
  };
  for (const node of nodes) {
    if (node.opType === 'Conv') mark(node.input![0]);
    else if (node.opType === 'Add') node.input!.forEach(mark);
    else continue;
    const output = node.output![0]!;
    const next = consumers.get(output) ?? [];
    mark(next.length === 1 && next[0]!.opType === 'Relu' ? next[0]!.output![0] : output);
  }
  // Keep graph order, so caches and reports list tensors the same way every time.
  const order: string[] = [...(graph.input ?? []).map((i) => i.name ?? '')];
  for (const node of nodes) order.push(...(node.output ?? []));
  return order.filter((name) => wanted.has(name));
}

/** The graph output holding the minimum (`which` 'min') or maximum of `tensor` over a whole run (rangeOutputs). */
export function rangeOutputName(tensor: string, which: 'min' | 'max'): string {
  return `${tensor}.calibration_${which}`;
}

/**
 * The model whose only outputs are the range of each named tensor over the batch, for calibration: two scalars
 * per tensor, reduced inside ORT instead of returning the tensors themselves (copied out and scanned in JS
 * before). A ReLU output that feeds a Conv gets its maximum only, from GlobalMaxPool, which ORT runs in its
 * blocked NCHWc layout with no reorder back to NCHW; its minimum is 0 by construction (a ReLU is never
 * negative, and every quantization range is widened to include 0), so calibrateRanges records 0. The others
 * get ReduceMin and ReduceMax over every axis. ResNet-50 backbone, 224 px, process CPU time on a 2-core AMD
 * EPYC at load ~3 (rough): 64 images, tensors out + JS scan 12.1-16.1 s vs ReduceMin/ReduceMax on every tensor
 * 8.6-8.9 s vs the plain float32 pass 5.6 s; one b16 batch: ReduceMin/ReduceMax everywhere 1.90-2.12 s,
 * with GlobalMaxPool for ReLU outputs 1.72-1.75 s, plain float32 1.67-1.74 s; 64 images again at load ~4: JS scan
 * 16.0-17.2 s, this 9.4-9.9 s, plain float32 7.5-7.6 s.
 */
export function withRangeOutputs(source: ModelProto, names: readonly string[]): ModelProto {
  const model = cloneModel(source);
  const graph = graphOf(model);
  const producers = new Map<string, NodeProto>();
  for (const node of graph.node ?? []) for (const output of node.output ?? []) producers.set(output, node);
  const consumers = consumersOf(graph.node ?? []);
  const keepdims = onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 });
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const scalar = (name: string) => outputs.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [] } } } }));
  for (const name of names) {
    const max = rangeOutputName(name, 'max');
    // Conv's data input has rank 3 or more, which GlobalMaxPool needs.
    if (producers.get(name)?.opType === 'Relu' && (consumers.get(name) ?? []).some((n) => n.opType === 'Conv' && n.input?.[0] === name)) {
      graph.node!.push(onnx.NodeProto.create({ opType: 'GlobalMaxPool', name: `${max}.pool`, input: [name], output: [`${max}.pool`] }));
      graph.node!.push(onnx.NodeProto.create({ opType: 'ReduceMax', name: max, input: [`${max}.pool`], output: [max], attribute: [keepdims] }));
      scalar(max);
      continue;
    }
    for (const [output, opType] of [[rangeOutputName(name, 'min'), 'ReduceMin'], [max, 'ReduceMax']] as const) {
      graph.node!.push(onnx.NodeProto.create({ opType, name: output, input: [name], output: [output], attribute: [keepdims] }));
      scalar(output);
    }
  }
  graph.output = outputs;
  return model;
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric 8-bit parameters for [min, max], widened to include 0 (exact zero padding). */
export function activationParams(range: TensorRange, type: ActivationType): QuantParams {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max)) throw new Error(`quantize: range [${range.min}, ${range.max}] is not finite`);
  const low = Math.min(range.min, 0);
  const high = Math.max(range.max, 0);
  const scale = high > low ? (high - low) / 255 : 1;
  const [qmin, qmax] = type === 'uint8' ? [0, 255] : [-128, 127];
  const zeroPoint = Math.min(qmax, Math.max(qmin, Math.round(qmin - low / scale)));
  return { scale, zeroPoint };
}

/** Per-output-channel symmetric int8 weights: q = round(w / s_c), s_c = max|w_c| / 127. */
export function quantizeWeights(w: Float32Array, channels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / channels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const start = c * per;
    const end = start + per;
    let max = 0;
    for (let k = start; k < end; k++) {
      const v = w[k]!;
      if (v > max) max = v;
      else if (-v > max) max = -v;
    }
    const scale = max > 0 ? max / 127 : 1;
    scales[c] = scale;
    // |w| <= max, so w / scale is within [-127, 127] up to rounding; the clamp only catches that.
    const inverse = 1 / scale;
    for (let k = start; k < end; k++) {
      const v = Math.round(w[k]! * inverse);
      q[k] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { q, scales };
}

/**
 * Inserts the QDQ pairs into a BN-folded model, given a calibrated range for every tensor of
 * `activationTensors(model)`. Returns a new model; the input model is not changed.
 */
export function insertQdq(source: ModelProto, ranges: ReadonlyMap<string, TensorRange>, options: QdqOptions = {}): { model: ModelProto; summary: QdqSummary } {
  const type = options.activations ?? 'uint8';
  const zeroPointType = type === 'uint8' ? DataType.UINT8 : DataType.INT8;
  const model = cloneModel(source);
  const graph = graphOf(model);
  const nodes = graph.node ?? [];
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const targets = activationTensors(model);
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const params = new Map<string, QuantParams>();
  const paramsOf = (name: string): QuantParams => {
    const known = params.get(name);
    if (known) return known;
    const made = sameRangeSource(name) ?? (() => {
      const range = ranges.get(name);
      if (!range) throw new Error(`quantize: no calibrated range for tensor ${name} (calibrate this graph first)`);
      return activationParams(range, type);
    })();
    params.set(name, made);
    return made;
  };
  // A MaxPool's (or Flatten's) output gets its input's scale, so ORT can drop the pair around it.
  const sameRangeSource = (name: string): QuantParams | undefined => {
    const node = producer.get(name);
    if (!node || !SAME_RANGE.has(node.opType ?? '') || !targets.includes(node.input![0]!)) return undefined;
    return paramsOf(node.input![0]!);
  };
  const newInits: TensorProto[] = [];
  const scalar = (name: string, value: number, dataType: number): string => {
    const data = dataType === DataType.FLOAT ? Float32Array.of(value) : dataType === DataType.UINT8 ? Uint8Array.of(value) : Int8Array.of(value);
    newInits.push(initializer(name, dataType, [], data));
    return name;
  };
  const dequantized = new Map<string, string>();
  const qdqPair = (name: string): NodeProto[] => {
    const { scale, zeroPoint } = paramsOf(name);
    const s = scalar(`${name}.scale`, scale, DataType.FLOAT);
    const z = scalar(`${name}.zero_point`, zeroPoint, zeroPointType);
    dequantized.set(name, `${name}.dq`);
    return [
      onnx.NodeProto.create({ opType: 'QuantizeLinear', name: `${name}.Q`, input: [name, s, z], output: [`${name}.q`] }),
      onnx.NodeProto.create({ opType: 'DequantizeLinear', name: `${name}.DQ`, input: [`${name}.q`, s, z], output: [`${name}.dq`] }),
    ];
  };
  const targetSet = new Set(targets);
  const out: NodeProto[] = [];
  for (const input of graph.input ?? []) if (targetSet.has(input.name ?? '')) out.push(...qdqPair(input.name!));
  let convs = 0;
  for (const node of nodes) {
    const original = [...(node.input ?? [])];
    // Consumers read the dequantized copy (the QuantizeLinear itself reads the float tensor).
    node.input = original.map((name) => dequantized.get(name) ?? name);
    if (node.opType === 'Conv') {
      const weight = inits.get(node.input[1]!);
      if (weight) {
        const w = floatsOf(weight);
        const channels = Number(weight.dims![0]);
        const { q, scales } = quantizeWeights(w, channels);
        const base = weight.name!;
        newInits.push(initializer(`${base}.int8`, DataType.INT8, (weight.dims ?? []).map(Number), q));
        newInits.push(initializer(`${base}.scale`, DataType.FLOAT, [channels], scales));
        newInits.push(initializer(`${base}.zero_point`, DataType.INT8, [channels], new Int8Array(channels)));
        out.push(onnx.NodeProto.create({ opType: 'DequantizeLinear', name: `${base}.DQ`, input: [`${base}.int8`, `${base}.scale`, `${base}.zero_point`], output: [`${base}.dq`], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })] }));
        const inputs = [node.input[0]!, `${base}.dq`];
        const bias = node.input[2] ? inits.get(node.input[2]) : undefined;
        const xName = original[0]!;
        if (bias && dequantized.has(xName)) {
          const b = floatsOf(bias);
          const inputScale = paramsOf(xName).scale;
          const qb = new Int32Array(channels);
          const bScales = new Float32Array(channels);
          for (let c = 0; c < channels; c++) {
            bScales[c] = inputScale * scales[c]!;
            qb[c] = Math.round(b[c]! / bScales[c]!);
          }
          const bn = bias.name!;
          newInits.push(initializer(`${bn}.int32`, DataType.INT32, [channels], qb));
          newInits.push(initializer(`${bn}.scale`, DataType.FLOAT, [channels], bScales));
          newInits.push(initializer(`${bn}.zero_point`, DataType.INT32, [channels], new Int32Array(channels)));
          out.push(onnx.NodeProto.create({ opType: 'DequantizeLinear', name: `${bn}.DQ`, input: [`${bn}.int32`, `${bn}.scale`, `${bn}.zero_point`], output: [`${bn}.dq`], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })] }));
          inputs.push(`${bn}.dq`);
        } else if (node.input[2]) {
          inputs.push(node.input[2]);
        }
        node.input = inputs;
        convs++;
      }
    }
    out.push(node);
    for (const output of node.output ?? []) if (targetSet.has(output)) out.push(...qdqPair(output));
  }
  graph.node = out;
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  pruneInitializers(graph);
  return { model, summary: { convs, activations: dequantized.size } };
}
