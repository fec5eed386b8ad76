/** Tensor shapes of an imported graph, found by running it once in ONNX Runtime (files rarely carry value_info). */
import { Session, type SessionOptions } from '../runtime/session.js';
import type { GraphView } from './analyze.js';
import { withDynamicBatch } from './batch.js';
import { encodeModel } from './read.js';

export interface ProbeResult {
  /** Per-sample shape [C, H, W] the probe ran at. */
  inputShape: number[];
  /** Shapes at batch 1 of each requested tensor that is float32 (others are left out). */
  shapes: Map<string, number[]>;
}

function ortMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 400);
}

/**
 * Runs the model (batch made dynamic) at batch 2 with `tensors` as outputs. Batch 2 checks that
 * nothing still fixes the batch at 1; errors name the file and what ORT said.
 */
export async function probeShapes(view: GraphView, tensors: string[], inputShape: number[], options: SessionOptions = {}): Promise<ProbeResult> {
  const model = withDynamicBatch(view, tensors);
  let session: Session;
  try {
    session = await Session.create(encodeModel(model), { threads: 1, ...options });
  } catch (error) {
    const opsets = (view.model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${String(o.version)}`).join(', ');
    throw new Error(`${view.source}: ONNX Runtime cannot load this model (opsets ${opsets}): ${ortMessage(error)}`);
  }
  try {
    const batch = 2;
    const count = inputShape.reduce((a, b) => a * b, 1) * batch;
    const data = Float32Array.from({ length: count }, (_, i) => ((i * 7919) % 255) / 255 - 0.5);
    let outputs;
    try {
      outputs = await session.run({ [view.input.name]: { data, shape: [batch, ...inputShape] } }, tensors);
    } catch (error) {
      throw new Error(`${view.source}: ONNX Runtime cannot run this model on a batch of ${batch} inputs [${inputShape.join(', ')}] (a fixed batch size or input size tlkit could not make dynamic?): ${ortMessage(error)}`);
    }
    const shapes = new Map<string, number[]>();
    for (const name of tensors) {
      const out = outputs[name];
      if (!out || out.type !== 'float32') continue;
      if (out.dims[0] !== batch) continue;
      shapes.set(name, [1, ...out.dims.slice(1)]);
    }
    return { inputShape, shapes };
  } finally {
    await session.release();
  }
}
