/**
 * Exported files often fix the batch at 1 (torch.onnx.export traces one example). tlkit runs
 * batches, so the input's and outputs' first dimension becomes symbolic and Reshape targets
 * written as [1, ...] copy the batch from their input instead (0 in Reshape's shape).
 */
import type onnxProto from 'onnx-proto';
import { cloneModel, onnx, toNumber, type ModelProto } from './read.js';
import type { GraphView } from './analyze.js';

function symbolicBatch(info: onnxProto.onnx.IValueInfoProto): onnxProto.onnx.IValueInfoProto {
  const dims = info.type?.tensorType?.shape?.dim;
  if (!dims || dims.length === 0) return info;
  const [first, ...rest] = dims;
  if (first!.dimParam) return info;
  return onnx.ValueInfoProto.create({
    ...info,
    type: { tensorType: { elemType: info.type!.tensorType!.elemType, shape: { dim: [{ dimParam: 'batch' }, ...rest] } } },
  });
}

/** A copy of the model whose batch dimension is symbolic; `outputs` replaces the graph outputs when given. */
export function withDynamicBatch(view: GraphView, outputs?: string[]): ModelProto {
  const model = cloneModel(view.model);
  const graph = model.graph!;
  graph.input = graph.input!.map((i) => (i.name === view.input.name ? symbolicBatch(i) : i));
  graph.output = outputs ? outputs.map((name) => onnx.ValueInfoProto.create({ name })) : graph.output!.map(symbolicBatch);
  const rewritten = new Map<string, string>();
  graph.node = graph.node!.map((node) => {
    if (node.opType !== 'Reshape' || !node.input?.[1] || view.constants.has(node.input[0] ?? '')) return node;
    const shapeName = node.input[1];
    const shape = view.initializers.get(shapeName);
    if (!shape || shape.dataType !== onnx.TensorProto.DataType.INT64 || (node.attribute ?? []).some((a) => a.name === 'allowzero' && toNumber(a.i) === 1)) return node;
    const values = shape.rawData && shape.rawData.length > 0
      ? Array.from(new BigInt64Array(Uint8Array.from(shape.rawData).buffer), Number)
      : (shape.int64Data ?? []).map((v) => toNumber(v));
    if (values[0] !== 1) return node;
    let name = rewritten.get(shapeName);
    if (!name) {
      name = `${shapeName}__dynamic_batch`;
      rewritten.set(shapeName, name);
      graph.initializer!.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(BigInt64Array.from([0, ...values.slice(1)].map(BigInt)).buffer) }));
    }
    return onnx.NodeProto.create({ ...node, input: [node.input[0]!, name, ...node.input.slice(2)] });
  });
  // BatchNormalization exported in training mode (extra outputs; training_mode=1 from opset 14) is
  // read as the inference op: tlkit's frozen parts use the running statistics, and the trained
  // parts get batch statistics from tlkit's own BN (graph/ops/norm.ts).
  const readAnywhere = new Set([...graph.node.flatMap((n) => n.input ?? []), ...graph.output.map((o) => o.name ?? '')]);
  graph.node = graph.node.map((node) => {
    if (node.opType !== 'BatchNormalization') return node;
    const outputs = node.output ?? [];
    const training = (node.attribute ?? []).some((a) => a.name === 'training_mode');
    if (outputs.length <= 1 && !training) return node;
    if (outputs.slice(1).some((o) => o && readAnywhere.has(o))) return node;
    return onnx.NodeProto.create({ ...node, output: outputs.slice(0, 1), attribute: (node.attribute ?? []).filter((a) => a.name !== 'training_mode') });
  });
  const read = new Set(graph.node.flatMap((n) => n.input ?? []));
  // Unused initializers (replaced Reshape targets, leftovers of the exporter) only make ORT warn.
  const unused = new Set(graph.initializer!.map((t) => t.name ?? '').filter((name) => !read.has(name)));
  graph.initializer = graph.initializer!.filter((t) => !unused.has(t.name ?? ''));
  graph.input = graph.input.filter((i) => !unused.has(i.name ?? ''));
  return model;
}
