import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

export type FeedValue = Float32Array | BigInt64Array;
export interface Feed {
  data: FeedValue;
  shape: readonly number[];
}

export interface SessionOptions {
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
  /** 'cpu' (tested) or 'cuda' (needs ORT's CUDA provider installed). */
  device?: 'cpu' | 'cuda';
  /** Write ORT's optimized graph here, for inspection. */
  optimizedModelPath?: string;
  /** Write ORT's per-node profile to a JSON file starting with this prefix (flushed by `release`). */
  profilePrefix?: string;
}

export function defaultThreads(): number {
  const fromEnv = Number(process.env.TLKIT_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function toOrtTensor(feed: Feed): ort.Tensor {
  if (feed.data instanceof BigInt64Array) return new ort.Tensor('int64', feed.data, [...feed.shape]);
  return new ort.Tensor('float32', feed.data, [...feed.shape]);
}

/**
 * One ORT session, created once and reused for every step; `release` frees its native memory.
 * Outputs come back as fresh Float32Arrays that callers may keep (the engine feeds updated
 * weights straight back in without copying).
 */
export class Session {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array, options: SessionOptions = {}): Promise<Session> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.device === 'cuda' ? 'cuda' : 'cpu'],
      intraOpNumThreads: options.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    if (options.optimizedModelPath) sessionOptions.optimizedModelFilePath = options.optimizedModelPath;
    if (options.profilePrefix) Object.assign(sessionOptions, { enableProfiling: true, profileFilePrefix: options.profilePrefix });
    return new Session(await ort.InferenceSession.create(model, sessionOptions));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, Feed | ort.Tensor>, outputNames?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = 'dims' in value ? value : toOrtTensor(value);
    return outputNames ? this.session.run(ortFeeds, [...outputNames]) : this.session.run(ortFeeds);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function float32Output(outputs: Record<string, ort.Tensor>, name: string): Float32Array {
  const tensor = outputs[name];
  if (!tensor) throw new Error(`the graph has no output named ${name}`);
  return tensor.data as Float32Array;
}
