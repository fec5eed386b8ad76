/** Graph -> ONNX ModelProto bytes, through the onnx-proto (protobufjs) message classes. */
import onnxProto from 'onnx-proto';
import type { Graph } from './graph.js';
import type { AttributeValue, ElementType, GraphNode, GraphValueInfo, Initializer } from './ir.js';

const { onnx } = onnxProto;
export const OPSET = 17;
const IR_VERSION = 8;

const ELEMENT_TYPE_CODE: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

function bytesOf(data: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function tensorProto(init: Initializer): InstanceType<typeof onnx.TensorProto> {
  return onnx.TensorProto.create({ name: init.name, dims: [...init.shape], dataType: ELEMENT_TYPE_CODE[init.type], rawData: bytesOf(init.data) });
}

function attributeProto(name: string, value: AttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: value });
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  if ('raw' in value) return onnx.AttributeProto.create({ ...value.raw, name });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.float });
  if ('floats' in value) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: value.floats });
  const { type, shape, values } = value.tensor;
  const data = type === 'float32' ? new Float32Array(values) : type === 'int64' ? BigInt64Array.from(values.map(BigInt)) : Uint8Array.from(values);
  return onnx.AttributeProto.create({ name, type: T.TENSOR, t: tensorProto({ name: '', type, shape, data }) });
}

function valueInfo(info: GraphValueInfo): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name: info.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE_CODE[info.type],
        shape: { dim: info.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/**
 * Graph outputs get their public names by renaming the producing node's output in place;
 * an Identity would copy every updated weight once more per training step.
 */
function nameOutputs(graph: Graph): { nodes: GraphNode[]; outputs: GraphValueInfo[] } {
  const rename = new Map<string, string>();
  const extra: GraphNode[] = [];
  const fixed = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.map((i) => i.name)]);
  const outputs: GraphValueInfo[] = [];
  for (const { value, name, dynamicBatch } of graph.outputs) {
    if (fixed.has(value.name) || rename.has(value.name)) {
      extra.push({ opType: 'Identity', inputs: [value.name], outputs: [name], attributes: {} });
    } else {
      rename.set(value.name, name);
    }
    outputs.push({ name, type: value.type, shape: dynamicBatch ? ['batch', ...value.shape.slice(1)] : [...value.shape] });
  }
  const mapName = (n: string) => rename.get(n) ?? n;
  const nodes = graph.nodes.map((node) => ({ ...node, inputs: node.inputs.map(mapName), outputs: node.outputs.map(mapName) }));
  return { nodes: liveNodes([...nodes, ...extra.map((node) => ({ ...node, inputs: node.inputs.map(mapName) }))], outputs), outputs };
}

/**
 * The nodes that some graph output depends on, in order. Ops may leave work unused (a conv whose
 * output BN folding replaced; ORT would still run it), so the file holds only what is needed.
 */
function liveNodes(nodes: GraphNode[], outputs: GraphValueInfo[]): GraphNode[] {
  const needed = new Set(outputs.map((o) => o.name));
  const keep: boolean[] = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const input of node.inputs) if (input !== '') needed.add(input);
  }
  return nodes.filter((_, i) => keep[i]);
}

/**
 * A copy of a model that edits of its lists, nodes and initializers cannot reach back through; the
 * weight bytes are shared (an edit assigns new ones). Encoding and decoding ResNet-50 to copy it cost
 * ~150 ms, three times per int8 build.
 */
export function cloneModel(model: InstanceType<typeof onnx.ModelProto>): InstanceType<typeof onnx.ModelProto> {
  const source = model.graph ?? {};
  const graph = onnx.GraphProto.create({
    ...source,
    node: (source.node ?? []).map((node) => onnx.NodeProto.create({ ...node })),
    initializer: (source.initializer ?? []).map((tensor) => onnx.TensorProto.create({ ...tensor })),
    input: [...(source.input ?? [])],
    output: [...(source.output ?? [])],
    valueInfo: [...(source.valueInfo ?? [])],
  });
  return onnx.ModelProto.create({ ...model, graph });
}

export function toModelProto(graph: Graph, name = 'tlkit'): InstanceType<typeof onnx.ModelProto> {
  const { nodes, outputs } = nameOutputs(graph);
  const used = new Set(nodes.flatMap((node) => node.inputs));
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'tlkit',
    opsetImport: graph.opsetImports ?? [{ domain: '', version: OPSET }, ...[...graph.extraOpsets].map(([domain, version]) => ({ domain, version }))],
    graph: {
      name,
      node: nodes.map((node, i) =>
        onnx.NodeProto.create({
          name: node.name ?? `${node.opType}_${i}`,
          opType: node.opType,
          ...(node.domain ? { domain: node.domain } : {}),
          input: node.inputs,
          output: node.outputs,
          attribute: Object.entries(node.attributes).map(([k, v]) => attributeProto(k, v)),
        })),
      // Only initializers that live nodes read (ORT warns about each unused one).
      initializer: graph.initializers.filter((init) => used.has(init.name)).map(tensorProto),
      input: graph.inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    },
  });
}

export function serializeGraph(graph: Graph, name?: string): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(graph, name)).finish();
}
