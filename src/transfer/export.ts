/**
 * A trained network as a standalone inference ONNX model: constant weights (ORT folds BN into the
 * convolutions when it loads it), input `input` [batch, C, H, W] float32 with a symbolic batch,
 * output `output` (logits) and, when asked, `probabilities` (softmax over classes).
 */
import onnxProto from 'onnx-proto';
import { toModelProto } from '../graph/onnx.js';
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
  /** The preprocessing the model expects, written as metadata (tlkit.mean, tlkit.std on the 0-255 scale, tlkit.image_size) so an import finds it. */
  normalization?: { mean: number[]; std: number[] };
}

export function exportInferenceOnnx(net: Module, options: ExportOptions): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(exportModelProto(net, options)).finish();
}

/**
 * The same model as an int8 QDQ graph (runtime/int8.ts): standard QuantizeLinear/DequantizeLinear ops, ~4x
 * smaller, runnable by onnxruntime-node and onnxruntime-web.
 */
export async function exportInt8Onnx(net: Module, options: ExportOptions & { int8: Int8Options }): Promise<{ bytes: Uint8Array; report: Int8Report }> {
  return buildInt8Model(exportModelProto(net, options), options.inputShape, options.int8);
}

function exportModelProto(net: Module, options: ExportOptions): ReturnType<typeof toModelProto> {
  net.nameParameters();
  const graph = buildInferenceGraph(stagesOf(net), options.inputShape);
  if (options.withSoftmax) {
    const logits = graph.outputs.find((o) => o.name === 'output');
    if (!logits || logits.value.shape.length !== 2) throw new Error('a softmax output needs a network whose output is [N, classes]');
    const [probabilities] = graph.emit('Softmax', [logits.value], [logits.value.shape], { axis: 1 });
    graph.output(probabilities!, 'probabilities', { dynamicBatch: true });
  }
  const model = toModelProto(graph, options.name ?? 'tlkit');
  const [, height] = options.inputShape;
  model.metadataProps = [
    ...(options.normalization ? [{ key: 'tlkit.mean', value: options.normalization.mean.join(',') }, { key: 'tlkit.std', value: options.normalization.std.join(',') }] : []),
    ...(height !== undefined ? [{ key: 'tlkit.image_size', value: String(height) }] : []),
  ];
  return model;
}
