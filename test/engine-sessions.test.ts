/**
 * Session options that reach ORT: spin-waiting off for sessions whose run is followed at once by
 * another session's (a frozen prefix before its training graph, an RKD teacher).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../src/graph/graph.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { ortSessionOptions, Session } from '../src/runtime/session.js';

test('spinning maps onto ORT\'s session.intra_op.allow_spinning config entry, and is left to ORT when unset', () => {
  assert.deepEqual(ortSessionOptions({ spinning: false }, 'cpu', 2).extra, { session: { intra_op: { allow_spinning: '0' } } });
  assert.deepEqual(ortSessionOptions({ spinning: true }, 'cpu', 2).extra, { session: { intra_op: { allow_spinning: '1' } } });
  assert.equal(ortSessionOptions({}, 'cpu', 2).extra, undefined);
  assert.equal(ortSessionOptions({ threads: 1 }, 'cpu', 1).intraOpNumThreads, 1);
});

test('a session without spinning runs and gives the same outputs as one with it', async () => {
  const g = new Graph();
  const a = g.input('a', [32, 48]);
  const b = g.input('b', [48, 16]);
  g.output(g.emit1('MatMul', [a, b], [32, 16]), 'out');
  const bytes = serializeGraph(g);
  const feeds = {
    a: { data: Float32Array.from({ length: 32 * 48 }, (_, i) => Math.sin(i)), shape: [32, 48] },
    b: { data: Float32Array.from({ length: 48 * 16 }, (_, i) => Math.cos(i)), shape: [48, 16] },
  };
  const [spinning, still] = await Promise.all([Session.create(bytes, { threads: 2 }), Session.create(bytes, { threads: 2, spinning: false })]);
  try {
    const x = (await spinning.run(feeds)).out!.data as Float32Array;
    const y = (await still.run(feeds)).out!.data as Float32Array;
    assert.equal(x.length, 32 * 16);
    assert.deepEqual(y, x);
    assert.ok(x.some((v) => v !== 0));
  } finally {
    await spinning.release();
    await still.release();
  }
});
