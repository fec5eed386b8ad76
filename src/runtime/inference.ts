import type { Graph } from '../graph/graph.js';
import type { Module } from '../nn/module.js';
import { buildInferenceGraph, type Stages } from './compile.js';
import { serializeGraph, toModelProto } from '../graph/onnx.js';
import { buildInt8Model, type Int8Options, type Int8Report } from './int8.js';
import { Session, type SessionOptions } from './session.js';
import { stagesOf } from './stages.js';

/** The inference graph `InferenceRunner.create` runs: the network's stages (up to `until`), weights constant. */
export function inferenceGraphOf(net: Module | Stages, inputShape: readonly number[], until?: string): Graph {
  if (!Array.isArray(net)) net.nameParameters();
  let stages = Array.isArray(net) ? net : stagesOf(net);
  if (until) {
    const end = stages.findIndex(([name]) => name === until);
    if (end < 0) throw new Error(`no stage named ${until}; stages are ${stages.map(([n]) => n).join(', ')}`);
    stages = stages.slice(0, end + 1);
  }
  return buildInferenceGraph(stages, inputShape);
}

/**
 * Runs a network (or a slice of its stages) for inference: one ORT session with constant
 * weights, created once. Weights are snapshotted at creation; rebuild after training.
 */
export class InferenceRunner {
  private constructor(
    private readonly session: Session,
    readonly inputShape: readonly number[],
    readonly outputName: string,
    /** Set when the runner is an int8 QDQ graph: calibration, quantized ops, measured agreement. */
    readonly int8?: Int8Report,
  ) {}

  /** With `int8`, the graph is quantized (runtime/int8.ts) after calibrating on its sample. */
  static async create(net: Module | Stages, inputShape: readonly number[], options: SessionOptions & { until?: string; int8?: Int8Options } = {}): Promise<InferenceRunner> {
    const graph = inferenceGraphOf(net, inputShape, options.until);
    if (options.int8) {
      const { bytes, report } = await buildInt8Model(toModelProto(graph, 'inference'), inputShape, options.int8, options);
      return new InferenceRunner(await Session.create(bytes, options), inputShape, 'output', report);
    }
    const session = await Session.create(serializeGraph(graph, 'inference'), options);
    return new InferenceRunner(session, inputShape, 'output');
  }

  /** A runner over a session made elsewhere from `inferenceGraphOf`'s graph (e.g. read back from a cache). */
  static fromSession(session: Session, inputShape: readonly number[]): InferenceRunner {
    return new InferenceRunner(session, inputShape, 'output');
  }

  /** `input` holds `batch` samples of `inputShape`, row-major; returns the outputs and their shape. */
  async run(input: Float32Array, batch: number): Promise<{ data: Float32Array; shape: number[] }> {
    const per = this.inputShape.reduce((a, b) => a * b, 1);
    if (input.length !== batch * per) {
      throw new Error(`input has ${input.length} values; ${batch} samples of [${this.inputShape.join(', ')}] need ${batch * per}`);
    }
    const outputs = await this.session.run({ input: { data: input, shape: [batch, ...this.inputShape] } });
    const out = outputs[this.outputName]!;
    return { data: out.data as Float32Array, shape: [...out.dims] };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
