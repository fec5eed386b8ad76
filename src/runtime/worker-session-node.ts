/**
 * An ORT session in a worker thread, behind the same surface as a session on the JS thread
 * (session.ts's SessionBackend). Feeds are copied to the worker (the caller keeps its arrays, e.g.
 * a training step's weights or a feature cache); outputs are moved back.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { SessionBackend } from './session.js';

export interface WireTensor {
  type: string;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
  dims: number[];
}

export type WorkerRequest =
  | { kind: 'create'; id: number; model: Uint8Array | string; options: InferenceSession.SessionOptions }
  | { kind: 'run'; id: number; feeds: Record<string, WireTensor>; fetches?: string[] }
  | { kind: 'release'; id: number };

export type WorkerReply =
  | { kind: 'created'; id: number; inputNames: string[]; outputNames: string[] }
  | { kind: 'ran'; id: number; outputs: Record<string, WireTensor> }
  | { kind: 'released'; id: number }
  | { kind: 'failed'; id: number; message: string };

/** A tensor as it crosses between threads (structured clone keeps the typed array). */
export const toWire = (t: Tensor): WireTensor => ({ type: t.type, data: t.data as WireTensor['data'], dims: [...t.dims] });
export const fromWire = (t: WireTensor): Tensor => new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);

/** Omit distributed over the union's members. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

class WorkerSession implements SessionBackend {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];

  constructor(private readonly worker: Worker) {
    // An idle worker does not keep the process alive (a session nobody released must not hang it
    // at exit); one with a request in flight does, or the process could end mid-await.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.kind === 'failed') waiting?.reject(new Error(reply.message));
      else waiting?.resolve(reply);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`the session's worker thread exited (code ${code})`)));
  }

  private failAll(error: Error): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  request<K extends WorkerReply['kind']>(message: WithoutId<WorkerRequest>): Promise<Extract<WorkerReply, { kind: K }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (reply: WorkerReply) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  async run(feeds: Record<string, Tensor>, fetches?: string[]): Promise<Record<string, Tensor>> {
    const wire = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toWire(t)]));
    const reply = await this.request<'ran'>({ kind: 'run', feeds: wire, ...(fetches ? { fetches } : {}) });
    return Object.fromEntries(Object.entries(reply.outputs).map(([name, t]) => [name, fromWire(t)]));
  }

  async release(): Promise<void> {
    try {
      await this.request<'released'>({ kind: 'release' });
    } finally {
      await this.worker.terminate();
    }
  }
}

/** A session created in a new worker thread. */
export const createWorkerSession: ((model: Uint8Array | string, options: InferenceSession.SessionOptions) => Promise<SessionBackend>) | undefined = async (model, options) => {
  // None of the parent's flags: e.g. --input-type (node -e) would reject the worker's file.
  const worker = new Worker(new URL('./session-worker-node.js', import.meta.url), { execArgv: [] });
  const session = new WorkerSession(worker);
  try {
    const created = await session.request<'created'>({ kind: 'create', model, options });
    session.inputNames = created.inputNames;
    session.outputNames = created.outputNames;
    return session;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
};
