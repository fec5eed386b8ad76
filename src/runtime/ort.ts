import type { Env, InferenceSession, Tensor } from 'onnxruntime-common';
import { nodeEngine } from './ort-node.js';
import type { SessionBackend } from './session.js';

/**
 * What tlkit needs of ONNX Runtime: the surface that onnxruntime-node and onnxruntime-web both
 * export (from onnxruntime-common). The runtime reaches ORT only through `ort()`, so the same
 * sessions, training steps and inference runners run in Node and in a web page.
 */
export interface OrtModule {
  readonly InferenceSession: typeof InferenceSession;
  readonly Tensor: typeof Tensor;
  readonly env: Env;
}

/** An ORT module plus the platform facts the runtime asks for. */
export interface OrtEngine {
  readonly ort: OrtModule;
  /** Threads a session uses when the caller does not say. */
  defaultThreads(): number;
  /** Execution provider for `device` when the caller does not name one. */
  defaultDevice: 'cpu' | 'wasm';
  /** Memory a training run may still allocate, and what limits it (for the training memory estimate). */
  availableMemory(): { bytes: number; source: string };
  /** A session in a thread of its own (Node's worker threads); absent where the platform has none. */
  createInWorker?(model: Uint8Array | string, options: InferenceSession.SessionOptions): Promise<SessionBackend>;
}

// The browser bundle replaces ./ort-node.js with a module exporting `undefined`; its entry calls useOrt.
let engine: OrtEngine | undefined = nodeEngine;

/** Makes every session from now on use this ORT module (e.g. `onnxruntime-web/webgpu`). */
export function useOrt(module: OrtModule, platform: Partial<Omit<OrtEngine, 'ort'>> = {}): void {
  engine = {
    ort: module,
    defaultThreads: platform.defaultThreads ?? engine?.defaultThreads ?? (() => 1),
    defaultDevice: platform.defaultDevice ?? engine?.defaultDevice ?? 'cpu',
    availableMemory: platform.availableMemory ?? engine?.availableMemory ?? (() => ({ bytes: Number.POSITIVE_INFINITY, source: 'no known limit' })),
    ...(platform.createInWorker ? { createInWorker: platform.createInWorker } : {}),
  };
}

export function ortEngine(): OrtEngine {
  if (!engine) throw new Error('no ONNX Runtime module: call useOrt(ort) with onnxruntime-node or onnxruntime-web first');
  return engine;
}

export function ort(): OrtModule {
  return ortEngine().ort;
}

export type { Tensor as OrtTensor, InferenceSession as OrtInferenceSession };
