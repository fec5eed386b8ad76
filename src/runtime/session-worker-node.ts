/**
 * The worker side of a session in a worker thread (worker-session-node.ts): one ORT session per
 * worker, created, run and released on request. onnxruntime-node runs a session on the calling JS
 * thread, so sessions that should run at the same time need threads of their own.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { fromWire, toWire, type WorkerReply, type WorkerRequest } from './worker-session-node.js';

let session: ort.InferenceSession | undefined;

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.kind) {
    case 'create': {
      session = typeof request.model === 'string'
        ? await ort.InferenceSession.create(request.model, request.options)
        : await ort.InferenceSession.create(request.model, request.options);
      return { kind: 'created', id: request.id, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
    }
    case 'run': {
      if (!session) throw new Error('no session in this worker');
      const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, t]) => [name, fromWire(t) as ort.Tensor]));
      const outputs = request.fetches ? await session.run(feeds, request.fetches) : await session.run(feeds);
      return { kind: 'ran', id: request.id, outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, toWire(t)])) };
    }
    case 'release':
      await session?.release();
      session = undefined;
      return { kind: 'released', id: request.id };
  }
}

parentPort!.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (reply) => {
      // The outputs are this thread's fresh arrays: moved, not copied, to the caller.
      const transfer = reply.kind === 'ran' ? Object.values(reply.outputs).map((t) => t.data.buffer as ArrayBuffer) : [];
      try {
        parentPort!.postMessage(reply, transfer);
      } catch {
        parentPort!.postMessage(reply);
      }
    },
    (error: unknown) => parentPort!.postMessage({ kind: 'failed', id: request.id, message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply),
  );
});
