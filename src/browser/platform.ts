import * as ortWeb from 'onnxruntime-web';
import { useImageBackend } from '../data/image-backend.js';
import { useOrt } from '../runtime/ort.js';
import { canvasImageBackend } from './canvas-images.js';

const GB = 1024 * 1024 * 1024;

/**
 * Threads need SharedArrayBuffer, which browsers grant only to cross-origin isolated pages
 * (COOP: same-origin + COEP: require-corp); without it onnxruntime-web runs on one thread.
 */
export function threadsAvailable(): boolean {
  const scope = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer !== 'undefined' && scope.crossOriginIsolated === true;
}

/** Threads onnxruntime-web's wasm backend gets by default on this page. */
export function browserThreads(): number {
  if (!threadsAvailable()) return 1;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  // onnxruntime-web's own default: half the cores, at most 4 (the page's UI keeps a core).
  return Math.max(1, Math.min(4, Math.ceil(cores / 2)));
}

/** onnxruntime-web's wasm build is 32-bit: every tensor of a session shares one 4 GB memory. */
export const WASM_MEMORY_BYTES = 4 * GB;

/** Makes the runtime use onnxruntime-web (wasm; webgpu when asked) and the canvas image backend. */
export function installBrowserPlatform(): void {
  useOrt(ortWeb, {
    defaultDevice: 'wasm',
    defaultThreads: browserThreads,
    availableMemory: () => ({ bytes: WASM_MEMORY_BYTES, source: "WebAssembly's 4 GB memory" }),
  });
  useImageBackend(canvasImageBackend);
}
