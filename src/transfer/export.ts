/**
 * A trained network as a standalone inference ONNX model: constant weights (ORT folds BN into the
 * convolutions when it loads it), input `input` [batch, C, H, W] float32 with a symbolic batch,
 * output `output` (logits) and, when asked, `probabilities` (softmax over classes).
 */
import type { Graph } from '../graph/graph.js';
import { serializeGraph, toModelProto } from '../graph/onnx.js';
import { buildInt8Model, type Int8Options, type Int8Report } from '../runtime/int8.js';
import type { Module } from '../nn/module.js';
import { buildInferenceGraph } from '../runtime/compile.js';
import { stagesOf } from '../runtime/stages.js';

export interface ExportOptions {
  /** One sample's shape [C, H, W]. */
  inputShape: readonly number[];
  withSoftmax?: boolean;
  /** The graph's name inside the file. */
  name?: string;
}

export function exportInferenceOnnx(net: Module, options: ExportOptions): Uint8Array {
  return serializeGraph(exportGraph(net, options), options.name ?? 'tlkit');
}

/**
 * The same model as an int8 QDQ graph (runtime/int8.ts): standard QuantizeLinear/DequantizeLinear ops, ~4x
 * smaller, runnable by onnxruntime-node and onnxruntime-web.
 */
export async function exportInt8Onnx(net: Module, options: ExportOptions & { int8: Int8Options }): Promise<{ bytes: Uint8Array; report: Int8Report }> {
  return buildInt8Model(toModelProto(exportGraph(net, options), options.name ?? 'tlkit'), options.inputShape, options.int8);
}

function exportGraph(net: Module, options: ExportOptions): Graph {
  net.parameters();
  const graph = buildInferenceGraph(stagesOf(net), options.inputShape);
  if (options.withSoftmax) {
    const logits = graph.outputs.find((o) => o.name === 'output');
    if (!logits || logits.value.shape.length !== 2) throw new Error('--with-softmax needs a network whose output is [N, classes]');
    const [probabilities] = graph.emit('Softmax', [logits.value], [logits.value.shape], { axis: 1 });
    graph.output(probabilities!, 'probabilities', { dynamicBatch: true });
  }
  return graph;
}
