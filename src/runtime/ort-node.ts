import * as os from 'node:os';
import * as onnxruntimeNode from 'onnxruntime-node';
import type { OrtEngine } from './ort.js';

/** The default engine in Node: onnxruntime-node on the CPU, as many threads as cores (or TLKIT_THREADS). */
export const nodeEngine: OrtEngine | undefined = {
  ort: onnxruntimeNode,
  defaultThreads(): number {
    const fromEnv = Number(process.env.TLKIT_THREADS);
    if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  },
  defaultDevice: 'cpu',
};
