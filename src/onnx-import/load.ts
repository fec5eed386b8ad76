/** `importOnnx`: an ONNX classifier file as a tlkit network, cut at its features, ready for transfer. */
import { IMAGENET_MEAN_255, IMAGENET_STD_255 } from '../data/transforms.js';
import { Dense } from '../nn/layers/dense.js';
import { Identity } from '../nn/layers/activation.js';
import type { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { parseOnnxTensor } from '../io/onnx-inspect.js';
import { toFloat32 } from '../io/dtype.js';
import type { SessionOptions } from '../runtime/session.js';
import { cutPoints, findClassifier, floatAttribute, intAttribute, viewGraph, type Classifier, type CutPoint, type GraphView } from './analyze.js';
import { ImportedModel, OnnxSegment, type Preprocessing } from './model.js';
import { probeShapes } from './probe.js';
import { withDynamicBatch } from './batch.js';
import { onnx, readOnnxModel, toNumber, type TensorProto } from './read.js';

export interface ImportOnnxOptions {
  /** The tensor whose values become the features (default: the classifier's input). */
  cut?: string;
  /** Classes of a new head; default: keep the file's classifier (when the cut is its input). */
  numClasses?: number;
  /** Input height and width; default: the file's, else metadata, else 224. */
  imageSize?: number;
  /** Normalization on the 0-255 scale; default: the file's metadata, else ImageNet's. */
  mean?: number[];
  std?: number[];
  session?: SessionOptions;
}

function floatsOf(tensor: TensorProto, source: string): Float32Array {
  return toFloat32(parseOnnxTensor(onnx.TensorProto.encode(tensor).finish(), source));
}

/** The file's float initializers (of more than one value) as parameters; BN's statistics as running statistics. */
function parametersOf(view: GraphView): Map<string, Parameter> {
  const statistics = new Set<string>();
  for (const node of view.nodes) if (node.opType === 'BatchNormalization') for (const i of [3, 4]) if (node.input?.[i]) statistics.add(node.input[i]!);
  const params = new Map<string, Parameter>();
  for (const [name, tensor] of view.initializers) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const shape = (tensor.dims ?? []).map((d) => toNumber(d));
    if (shape.reduce((a, b) => a * b, 1) <= 1) continue;
    const p = new Parameter(shape, floatsOf(tensor, view.source), { kind: statistics.has(name) ? 'running-statistic' : 'weight' });
    p.name = name;
    params.set(name, p);
  }
  return params;
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** The file's Gemm / MatMul+Add classifier as a Dense [out, in] (alpha and beta folded in), or undefined when its weights are not plain initializers. */
function denseFromClassifier(view: GraphView, classifier: Classifier, features: number): Dense | undefined {
  const product = view.nodes[classifier.nodes[0]!]!;
  const weight = view.initializers.get(product.input?.[1] ?? '');
  if (!weight || weight.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
  const dims = (weight.dims ?? []).map((d) => toNumber(d));
  if (dims.length !== 2) return undefined;
  let w = floatsOf(weight, view.source);
  const transB = product.opType === 'Gemm' ? intAttribute(product, 'transB', 0) === 1 : false;
  const [out, inFeatures] = transB ? [dims[0]!, dims[1]!] : [dims[1]!, dims[0]!];
  if (inFeatures !== features) return undefined;
  if (!transB) w = transposed(w, dims[0]!, dims[1]!);
  const alpha = product.opType === 'Gemm' ? floatAttribute(product, 'alpha', 1) : 1;
  const beta = product.opType === 'Gemm' ? floatAttribute(product, 'beta', 1) : 1;
  const biasNode = product.opType === 'Gemm' ? product : view.nodes[classifier.nodes[1]!];
  const biasName = product.opType === 'Gemm' ? product.input?.[2] : (biasNode?.input ?? []).find((n) => view.constants.has(n));
  let bias: Float32Array = new Float32Array(out);
  if (biasName) {
    const b = view.initializers.get(biasName);
    if (!b || b.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
    const values = floatsOf(b, view.source);
    if (values.length === out) bias = values;
    else if (values.length === 1) bias.fill(values[0]!);
    else return undefined;
  }
  const dense = new Dense(inFeatures, out);
  dense.weight.data = alpha === 1 ? w : w.map((v) => v * alpha);
  dense.bias!.data = beta === 1 ? bias : bias.map((v) => v * beta);
  return dense;
}

const METADATA_KEYS = {
  mean: ['tlkit.mean', 'mean', 'image_mean', 'preprocess.mean'],
  std: ['tlkit.std', 'std', 'image_std', 'preprocess.std'],
  size: ['tlkit.image_size', 'image_size', 'input_size', 'preprocess.size'],
};

/** Numbers under the first of `keys` present; other tools' mean/std on the 0-1 scale (torchvision's 0.485...) become tlkit's 0-255. */
function metadataNumbers(view: GraphView, keys: string[], scale255 = false): number[] | undefined {
  const props = view.model.metadataProps ?? [];
  for (const key of keys) {
    const value = props.find((p) => p.key === key)?.value;
    if (!value) continue;
    const numbers = value.replace(/[[\]()]/g, '').split(/[,\s]+/).filter(Boolean).map(Number);
    if (numbers.length === 0 || !numbers.every(Number.isFinite)) continue;
    return scale255 && !key.startsWith('tlkit.') && numbers.every((v) => Math.abs(v) <= 1) ? numbers.map((v) => v * 255) : numbers;
  }
  return undefined;
}

function preprocessingOf(view: GraphView, options: ImportOnnxOptions, imageSize: number): Preprocessing {
  if (options.mean || options.std) {
    return { imageSize, mean: options.mean ?? IMAGENET_MEAN_255, std: options.std ?? IMAGENET_STD_255, source: 'user' };
  }
  const mean = metadataNumbers(view, METADATA_KEYS.mean, true);
  const std = metadataNumbers(view, METADATA_KEYS.std, true);
  if (mean && std) return { imageSize, mean, std, source: 'metadata' };
  return { imageSize, mean: [...IMAGENET_MEAN_255], std: [...IMAGENET_STD_255], source: 'default' };
}

function describeCuts(cuts: Array<CutPoint & { shape?: number[] }>): string {
  return cuts.map((c) => `'${c.tensor}'${c.shape ? ` [${c.shape.join(', ')}]` : ''}`).join(', ');
}

/** Reads, analyses and probes an ONNX file: cut points with their shapes, the classifier, the input shape. */
export async function analyzeOnnx(file: string, options: Pick<ImportOnnxOptions, 'imageSize' | 'session'> = {}) {
  const model = await readOnnxModel(file);
  // Everything downstream (probe, frozen stages, trained stages) sees the batch made dynamic.
  const view = viewGraph(withDynamicBatch(viewGraph(model, file)), file);
  const declared = view.input.shape;
  const channels = typeof declared[1] === 'number' ? declared[1] : 3;
  const fromMetadata = metadataNumbers(view, METADATA_KEYS.size)?.[0];
  const height = options.imageSize ?? (typeof declared[2] === 'number' ? declared[2] : fromMetadata ?? 224);
  const width = options.imageSize ?? (typeof declared[3] === 'number' ? declared[3] : fromMetadata ?? height);
  const points = cutPoints(view);
  const probe = await probeShapes(view, [...new Set([...points.map((c) => c.tensor), view.output])].filter((t) => t !== view.input.name), [channels, height, width], options.session);
  probe.shapes.set(view.input.name, [1, channels, height, width]);
  const cuts = points.filter((c) => probe.shapes.has(c.tensor)).map((c) => ({ ...c, shape: probe.shapes.get(c.tensor)! }));
  return { view, cuts, classifier: findClassifier(view), inputShape: [channels, height, width], outputShape: probe.shapes.get(view.output) };
}

export async function importOnnx(file: string, options: ImportOnnxOptions = {}): Promise<ImportedModel> {
  const { view, cuts, classifier, inputShape, outputShape } = await analyzeOnnx(file, options);
  let cut = options.cut ?? classifier?.features;
  if (cut === undefined) {
    throw new Error(`${file}: no classifier to cut: no Gemm or MatMul (+ Add) leads to the output '${view.output}'. Choose the features with --cut TENSOR; cut points: ${describeCuts(cuts)}`);
  }
  const at = cuts.findIndex((c) => c.tensor === cut);
  if (at < 0) {
    const exists = view.producer.has(cut) || cut === view.input.name;
    throw new Error(exists
      ? `${file}: --cut '${cut}' is not a cut point (other values computed before it are still read after it, or it is not float32); cut points: ${describeCuts(cuts)}`
      : `${file}: --cut '${cut}': the graph has no tensor of that name; cut points: ${describeCuts(cuts)}`);
  }
  if (at === 0) throw new Error(`${file}: --cut '${cut}' is the model's input; choose a tensor computed by the model: ${describeCuts(cuts.slice(1))}`);
  cut = cuts[at]!.tensor;
  const params = parametersOf(view);
  const segmentBetween = (from: CutPoint, to: CutPoint & { shape: number[] }, next: string) =>
    new OnnxSegment(view, from.tensor, to.tensor, view.nodes.slice(from.after, to.after), to.shape, params, next);
  const segments: OnnxSegment[] = [];
  for (let i = 0; i < at; i++) segments.push(segmentBetween(cuts[i]!, cuts[i + 1]!, cuts[i + 1]!.tensor));
  const featureShape = cuts[at]!.shape;
  const features = featureShape.length === 4 ? featureShape[1]! : featureShape.slice(1).reduce((a, b) => a * b, 1);

  let head: Module = new Identity();
  let tail: OnnxSegment | undefined;
  if (classifier && classifier.features === cut && outputShape) {
    const dense = denseFromClassifier(view, classifier, features);
    const last = cuts[cuts.length - 1]!;
    if (dense) {
      head = dense;
      const classifierEnd = classifier.nodes[classifier.nodes.length - 1]!;
      if (classifier.tail.length > 0) {
        const logits = view.nodes[classifierEnd]!.output![0]!;
        tail = new OnnxSegment(view, logits, view.output, view.nodes.slice(classifierEnd + 1), outputShape, params, '');
      }
    } else if (last.tensor === view.output) {
      head = new OnnxSegment(view, cut, view.output, view.nodes.slice(cuts[at]!.after), outputShape, params, '');
    }
  }
  const net = new ImportedModel({
    source: file, view, segments, cuts, cut, featureShape, head, tail, inputShape,
    preprocessing: preprocessingOf(view, options, inputShape[1]!),
  });
  const originalClasses = head instanceof Dense ? head.outChannels : undefined;
  if (options.numClasses !== undefined && options.numClasses !== originalClasses) net.replaceHead(options.numClasses);
  net.nameParameters();
  return net;
}
