/**
 * The structure tlkit needs of an imported graph: which tensors are constant, where the graph can
 * be cut (tensors every path from the input passes through), and where the classifier begins.
 */
import { defaultOpset, toNumber, type ModelProto, type NodeProto, type TensorProto } from './read.js';

export interface GraphView {
  readonly source: string;
  readonly model: ModelProto;
  /** Nodes in topological order. */
  readonly nodes: NodeProto[];
  readonly initializers: Map<string, TensorProto>;
  /** The image input: its name and declared shape (numbers, or strings for symbolic dims). */
  readonly input: { name: string; shape: (number | string)[] };
  readonly output: string;
  /** Tensors computable without the input (initializers, Constant nodes and what they feed alone). */
  readonly constants: Set<string>;
  readonly producer: Map<string, number>;
  readonly opset: number;
}

export interface CutPoint {
  tensor: string;
  /** Nodes [0, after) compute it. */
  after: number;
  /** Op type of the node producing it ('input' for the graph input). */
  producedBy: string;
}

function topologicalOrder(nodes: NodeProto[], available: Set<string>, source: string): NodeProto[] {
  const ready = new Set(available);
  const done = new Array<boolean>(nodes.length).fill(false);
  const order: NodeProto[] = [];
  let progress = true;
  while (order.length < nodes.length && progress) {
    progress = false;
    nodes.forEach((node, i) => {
      if (done[i] || !(node.input ?? []).every((name) => !name || ready.has(name))) return;
      done[i] = true;
      progress = true;
      order.push(node);
      for (const o of node.output ?? []) ready.add(o);
    });
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((_, i) => !done[i])!;
    const missing = (stuck.input ?? []).filter((name) => name && !ready.has(name));
    throw new Error(`${source}: node '${stuck.name || stuck.opType}' (${stuck.opType}) reads ${missing.join(', ')}, which no node, initializer or input provides`);
  }
  return order;
}

export function viewGraph(model: ModelProto, source: string): GraphView {
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // Older exporters list initializers among the inputs; those are weights, not inputs.
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  if (inputs.length !== 1) {
    throw new Error(`${source}: the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); tlkit imports image classifiers with one input`);
  }
  const input = inputs[0]!;
  const tensorType = input.type?.tensorType;
  const shape = (tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?'));
  if (tensorType?.elemType !== 1 || shape.length !== 4) {
    throw new Error(`${source}: input '${input.name}' is ${tensorType?.elemType === 1 ? 'float32' : `element type ${tensorType?.elemType ?? 'unknown'}`} of rank ${shape.length}; tlkit imports NCHW float32 image inputs`);
  }
  if ((graph.output ?? []).length === 0) throw new Error(`${source}: the graph has no outputs`);
  const nodes = topologicalOrder(graph.node ?? [], new Set([...initializers.keys(), input.name ?? '']), source);
  const constants = new Set(initializers.keys());
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const o of node.output ?? []) producer.set(o, i);
    if ((node.input ?? []).every((name) => !name || constants.has(name))) for (const o of node.output ?? []) constants.add(o);
  });
  return { source, model, nodes, initializers, input: { name: input.name ?? '', shape }, output: graph.output![0]!.name ?? '', constants, producer, opset: defaultOpset(model) };
}

/**
 * Tensors that alone carry everything later nodes need: after the nodes that compute one, no
 * other non-constant value is still to be read. Block outputs of a ResNet, the pooled features,
 * the logits. Shape-only reads (Shape of a tensor) count as reads, so a Flatten built from
 * Shape/Gather/Concat has its input and output as cut points but nothing in between.
 */
export function cutPoints(view: GraphView): CutPoint[] {
  const uses = new Map<string, number>();
  const use = (name: string) => uses.set(name, (uses.get(name) ?? 0) + 1);
  for (const node of view.nodes) for (const name of node.input ?? []) if (name && !view.constants.has(name)) use(name);
  for (const o of view.model.graph!.output ?? []) use(o.name ?? '');
  const live = new Set<string>([view.input.name]);
  const points: CutPoint[] = [{ tensor: view.input.name, after: 0, producedBy: 'input' }];
  view.nodes.forEach((node, i) => {
    for (const name of node.input ?? []) {
      if (!name || view.constants.has(name)) continue;
      const left = (uses.get(name) ?? 0) - 1;
      uses.set(name, left);
      if (left <= 0) live.delete(name);
    }
    for (const o of node.output ?? []) if (o && !view.constants.has(o) && (uses.get(o) ?? 0) > 0) live.add(o);
    if (live.size === 1) {
      const [tensor] = live as Set<string>;
      if (points[points.length - 1]!.tensor !== tensor) points.push({ tensor: tensor!, after: i + 1, producedBy: node.opType ?? '' });
    }
  });
  return points;
}

/** Ops that may follow the classifier's matrix product and that a new head replaces. */
const TAIL_OPS = new Set(['Softmax', 'LogSoftmax', 'Identity', 'Dropout', 'Flatten', 'Reshape', 'Squeeze', 'Sigmoid']);

export interface Classifier {
  /** The features entering the classifier: the default cut. */
  features: string;
  /** Node indices of the matrix product (and its bias Add). */
  nodes: number[];
  /** Node indices after the classifier (Softmax...). */
  tail: number[];
}

function nonConstantInputs(view: GraphView, node: NodeProto): string[] {
  return (node.input ?? []).filter((name) => name && !view.constants.has(name));
}

/** The last Gemm, or MatMul (+ Add), on the path to the output: the classifier to replace. */
export function findClassifier(view: GraphView): Classifier | undefined {
  const tail: number[] = [];
  let tensor = view.output;
  for (;;) {
    const index = view.producer.get(tensor);
    if (index === undefined) return undefined;
    const node = view.nodes[index]!;
    const dynamic = nonConstantInputs(view, node);
    if (node.opType === 'Gemm' && dynamic.length === 1 && node.input![0] === dynamic[0]) {
      const transA = node.attribute?.find((a) => a.name === 'transA');
      if (transA && toNumber(transA.i) !== 0) return undefined;
      return { features: dynamic[0]!, nodes: [index], tail: tail.reverse() };
    }
    if (node.opType === 'MatMul' && dynamic.length === 1 && node.input![0] === dynamic[0]) return { features: dynamic[0]!, nodes: [index], tail: tail.reverse() };
    if (node.opType === 'Add' && dynamic.length === 1) {
      const product = view.producer.get(dynamic[0]!);
      const mm = product === undefined ? undefined : view.nodes[product]!;
      if (mm?.opType === 'MatMul' && nonConstantInputs(view, mm).length === 1 && mm.input![0] === nonConstantInputs(view, mm)[0]) {
        return { features: mm.input![0]!, nodes: [product!, index], tail: tail.reverse() };
      }
      return undefined;
    }
    if (TAIL_OPS.has(node.opType ?? '') && dynamic.length === 1) {
      tail.push(index);
      tensor = dynamic[0]!;
      continue;
    }
    return undefined;
  }
}

export function attribute(node: NodeProto, name: string): onnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name) ?? undefined;
}
type onnxAttribute = NonNullable<NodeProto['attribute']>[number];

export function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? toNumber(a.i) : fallback;
}

export function intsAttribute(node: NodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v)) : undefined;
}

export function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? a.f ?? fallback : fallback;
}

export function nodeLabel(node: NodeProto): string {
  return node.name ? `'${node.name}'` : `producing '${node.output?.[0] ?? '?'}'`;
}
