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

test('a session in a worker thread gives the same outputs, passes int64 feeds, reports ORT errors, and a training step in one matches one on the JS thread', async () => {
  const g = new Graph();
  const a = g.input('a', [4, 6]);
  const ids = g.input('ids', [3], 'int64');
  g.output(g.emit1('Gather', [a, ids], [3, 6], { axis: 0 }), 'rows');
  g.output(g.emit1('ReduceSum', [a, g.constantInt64([1])], [4, 1]), 'sums');
  const bytes = serializeGraph(g);
  const feeds = { a: { data: Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3), shape: [4, 6] }, ids: { data: BigInt64Array.from([3n, 0n, 2n]), shape: [3] } };
  const [here, there] = await Promise.all([Session.create(bytes, { threads: 1 }), Session.create(bytes, { threads: 1, inWorker: true })]);
  try {
    assert.deepEqual([...there.inputNames].sort(), ['a', 'ids']);
    const x = await here.run(feeds);
    const y = await there.run(feeds);
    assert.deepEqual(Array.from(y.rows!.data as Float32Array), Array.from(x.rows!.data as Float32Array));
    assert.deepEqual(y.sums!.dims, [4, 1]);
    assert.deepEqual(Array.from(y.sums!.data as Float32Array), Array.from(x.sums!.data as Float32Array));
    // The caller's arrays are copied, not moved: they stay usable.
    assert.equal(feeds.a.data.length, 24);
    await assert.rejects(there.run({ a: feeds.a, ids: { data: BigInt64Array.from([9n, 0n, 1n]), shape: [3] } }), /indices|out of|bounds|range/i);
    const again = await there.run(feeds);
    assert.deepEqual(Array.from(again.rows!.data as Float32Array), Array.from(x.rows!.data as Float32Array));
  } finally {
    await here.release();
    await there.release();
  }

  const { TrainStep } = await import('../src/runtime/train-step.js');
  const { resnet18 } = await import('../src/models/resnet.js');
  const { seedInitializers } = await import('../src/nn/init.js');
  const losses: number[][] = [];
  for (const inWorker of [false, true]) {
    seedInitializers(4);
    const net = resnet18({ numClasses: 3, inChannels: 1, width: 4, smallInput: true, padMode: 'pad' });
    const step = await TrainStep.create(net, { inputShape: [1, 12, 12], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true, session: { threads: 1, inWorker } });
    const images = Float32Array.from({ length: 4 * 144 }, (_, i) => Math.sin(i * 0.37));
    const run: number[] = [];
    try {
      for (let i = 0; i < 3; i++) run.push((await step.step(images, [0, 1, 2, 1], 0.05)).loss);
      step.syncToNetwork();
      run.push(net.namedParameters()[0]![1].data[0]!);
    } finally {
      await step.release();
    }
    losses.push(run);
  }
  assert.deepEqual(losses[1], losses[0]);
  assert.ok(losses[0]![2]! !== losses[0]![0]!, 'the weights moved between steps');
});

test('an unreleased session in a worker thread does not keep the process from exiting', async () => {
  const { execFile } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const session = fileURLToPath(new URL('../src/runtime/session.js', import.meta.url));
  const graph = fileURLToPath(new URL('../src/graph/graph.js', import.meta.url));
  const onnx = fileURLToPath(new URL('../src/graph/onnx.js', import.meta.url));
  const script = [
    `const { Session } = await import(${JSON.stringify(session)});`,
    `const { Graph } = await import(${JSON.stringify(graph)});`,
    `const { serializeGraph } = await import(${JSON.stringify(onnx)});`,
    `const g = new Graph(); const x = g.input('x', [2]); g.output(g.emit1('Neg', [x], [2]), 'y');`,
    `const s = await Session.create(serializeGraph(g), { threads: 1, inWorker: true });`,
    `const out = await s.run({ x: { data: Float32Array.of(1, -2), shape: [2] } });`,
    `console.log(Array.from(out.y.data).join(','));`,
  ].join('\n');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (error, out) => (error ? reject(error) : resolve(out)));
  });
  assert.equal(stdout.trim(), '-1,2');
});
