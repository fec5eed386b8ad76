import { ort, ortEngine, type OrtInferenceSession, type OrtTensor } from './ort.js';

export type FeedValue = Float32Array | BigInt64Array;
export interface Feed {
  data: FeedValue;
  shape: readonly number[];
}

export interface SessionOptions {
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
  /**
   * 'cpu' (onnxruntime-node, tested), 'cuda' (needs ORT's CUDA provider installed), 'wasm'
   * (onnxruntime-web; threads only where SharedArrayBuffer exists) or 'webgpu' (onnxruntime-web
   * where the browser has it). Defaults to the engine's device: 'cpu' in Node, 'wasm' in the browser.
   */
  device?: 'cpu' | 'cuda' | 'wasm' | 'webgpu';
  /** Write ORT's optimized graph here, for inspection. */
  optimizedModelPath?: string;
  /** Write ORT's per-node profile to a JSON file starting with this prefix (flushed by `release`). */
  profilePrefix?: string;
  /** The model is one ORT already optimized (read back from `optimizedModelPath`): skip optimizing again. */
  optimized?: boolean;
  /** Only errors in ORT's log (not its warnings). */
  quiet?: boolean;
  /** ORT's parallel executor runs independent nodes at once on `interOpThreads` threads (default: sequential). */
  parallel?: { interOpThreads: number };
  /** ORT's CPU memory arena (default on). */
  cpuMemArena?: boolean;
  /** ORT's memory pattern planning, which pre-allocates one block for a run's intermediates (default on). */
  memPattern?: boolean;
  /** Run the session in a worker thread of its own (Node), so that it runs while the JS thread does other work. */
  inWorker?: boolean;
  /**
   * Whether ORT's intra-op threads spin-wait for work after a run (default on). A session whose
   * run is followed at once by another session's should not: its spinning threads take the cores
   * from the next run (four GEMM sessions run in turn in one process: 60 GFLOP/s each with
   * spinning, 160 without, 2026-12-01).
   */
  spinning?: boolean;
}

/** What a Session runs on: an ORT session on this thread, or one in a worker thread (ort.ts createInWorker). */
export interface SessionBackend {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>, fetches?: string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

let scoped: { threads?: number; inWorker?: boolean } = {};

export function defaultThreads(): number {
  return scoped.threads ?? ortEngine().defaultThreads();
}

/**
 * Sessions created while `work` runs use these defaults unless told otherwise: for jobs that run
 * side by side in one process, each on its share of the cores and in threads of their own
 * (onnxruntime-node runs a session on the calling JS thread, so two on one thread take turns).
 */
export async function withSessionDefaults<T>(defaults: { threads?: number; inWorker?: boolean }, work: () => Promise<T>): Promise<T> {
  const before = scoped;
  scoped = { ...scoped, ...defaults };
  try {
    return await work();
  } finally {
    scoped = before;
  }
}

export function toOrtTensor(feed: Feed): OrtTensor {
  const { Tensor } = ort();
  if (feed.data instanceof BigInt64Array) return new Tensor('int64', feed.data, [...feed.shape]);
  return new Tensor('float32', feed.data, [...feed.shape]);
}

/** ORT's session options for tlkit's: sequential execution, every graph optimization. */
export function ortSessionOptions(options: SessionOptions, device: NonNullable<SessionOptions['device']>, threads: number): OrtInferenceSession.SessionOptions {
  const sessionOptions: OrtInferenceSession.SessionOptions = {
    executionProviders: [device],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  if (options.optimizedModelPath) sessionOptions.optimizedModelFilePath = options.optimizedModelPath;
  if (options.profilePrefix) Object.assign(sessionOptions, { enableProfiling: true, profileFilePrefix: options.profilePrefix });
  if (options.optimized) sessionOptions.graphOptimizationLevel = 'disabled';
  if (options.quiet) sessionOptions.logSeverityLevel = 3;
  if (options.parallel) Object.assign(sessionOptions, { executionMode: 'parallel', interOpNumThreads: options.parallel.interOpThreads });
  if (options.cpuMemArena !== undefined) sessionOptions.enableCpuMemArena = options.cpuMemArena;
  if (options.memPattern !== undefined) sessionOptions.enableMemPattern = options.memPattern;
  // ORT reads session config entries from `extra`, flattened with dots: session.intra_op.allow_spinning.
  if (options.spinning !== undefined) sessionOptions.extra = { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } };
  return sessionOptions;
}

/**
 * One ORT session, created once and reused for every step; `release` frees its native memory.
 * Outputs come back as fresh Float32Arrays that callers may keep (the engine feeds updated
 * weights straight back in without copying).
 */
export class Session {
  private constructor(private readonly session: SessionBackend) {}

  /** `model`: ONNX bytes, or the path of an ONNX file (Node only). */
  static async create(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const { InferenceSession, env } = ort();
    const device = options.device ?? ortEngine().defaultDevice;
    const threads = options.threads ?? defaultThreads();
    // onnxruntime-web has one wasm thread pool, sized before its first session; later values are ignored.
    if (device === 'wasm' || device === 'webgpu') env.wasm.numThreads ??= threads;
    const sessionOptions = ortSessionOptions(options, device, threads);
    const inWorker = options.inWorker ?? scoped.inWorker ?? false;
    const createInWorker = ortEngine().createInWorker;
    if (inWorker && createInWorker && device === 'cpu') return new Session(await createInWorker(model, sessionOptions));
    // Two overloads of create (path, bytes): TypeScript picks one per branch, not for the union.
    const session = typeof model === 'string' ? await InferenceSession.create(model, sessionOptions) : await InferenceSession.create(model, sessionOptions);
    return new Session({
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: (feeds, fetches) => (fetches ? session.run(feeds, fetches) : session.run(feeds)),
      release: () => session.release(),
    });
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, Feed | OrtTensor>, outputNames?: readonly string[]): Promise<Record<string, OrtTensor>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = 'dims' in value ? value : toOrtTensor(value);
    return outputNames ? this.session.run(ortFeeds, [...outputNames]) : this.session.run(ortFeeds);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function float32Output(outputs: Record<string, OrtTensor>, name: string): Float32Array {
  const tensor = outputs[name];
  if (!tensor) throw new Error(`the graph has no output named ${name}`);
  return tensor.data as Float32Array;
}
