import * as os from 'node:os';
import * as onnxruntimeNode from 'onnxruntime-node';
import type { OrtEngine } from './ort.js';
import { createWorkerSession } from './worker-session-node.js';

/** The default engine in Node: onnxruntime-node on the CPU, as many threads as cores (or TLKIT_THREADS). */
export const nodeEngine: OrtEngine | undefined = {
  ort: onnxruntimeNode,
  defaultThreads(): number {
    const fromEnv = Number(process.env.TLKIT_THREADS);
    if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  },
  defaultDevice: 'cpu',
  createInWorker: createWorkerSession,
  availableMemory(): { bytes: number; source: string } {
    let bytes = os.freemem();
    let source = 'available memory';
    const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
    // constrainedMemory() reports a huge number when there is no cgroup limit.
    if (constrained > 0 && constrained < os.totalmem()) {
      const room = constrained - process.memoryUsage().rss;
      if (room < bytes) {
        bytes = room;
        source = 'the cgroup memory limit';
      }
    }
    // The estimate is on top of what this process already holds, which MemAvailable does not count.
    return { bytes: Math.max(0, bytes), source };
  },
};
