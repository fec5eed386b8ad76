/**
 * Start-up: weights are drawn lazily (the same values as drawn eagerly, none drawn for weights a
 * file provides), and inference sessions are cached across processes under TLKIT_HOME.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeSafetensors } from '../src/io/safetensors.js';
import { loadModel } from '../src/models/registry.js';
import { resnet18 } from '../src/models/resnet.js';
import { initialize, seedInitializers, type Initializer } from '../src/nn/init.js';
import { Parameter } from '../src/nn/parameter.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { createCachedInferenceRunner, sessionCacheFolder } from '../src/runtime/session-cache.js';

const small = { numClasses: 3, inChannels: 1, width: 8, smallInput: true, padMode: 'pad' } as const;

function allValues(net: ReturnType<typeof resnet18>): Map<string, Float32Array> {
  return new Map(net.namedParameters().map(([name, p]) => [name, p.data]));
}

test('a lazily drawn parameter equals the eager draw at its place in the seeded stream', () => {
  const inits: Initializer[] = [{ kind: 'normal', std: 0.02 }, { kind: 'uniform', bound: 0.3 }, { kind: 'he-normal', mode: 'fan-out' }];
  const shapes = [[4, 3, 3, 3], [7, 5], [6, 2, 1, 1]];
  seedInitializers(5);
  const eager = inits.map((init, i) => initialize(new Float32Array(shapes[i]!.reduce((a, b) => a * b, 1)), shapes[i]!, init));
  seedInitializers(5);
  const lazy = inits.map((init, i) => new Parameter(shapes[i]!, undefined, { init }));
  // Read in reverse order: the values depend on construction order, not on reading order.
  for (let i = lazy.length - 1; i >= 0; i--) assert.deepEqual(lazy[i]!.data, eager[i]);
  assert.ok(eager[0]!.some((v) => v !== 0) && eager[1]!.some((v) => v !== eager[1]![0]));
});

test('assigning a parameter before it is read skips its draw and leaves every other value as seeded', () => {
  seedInitializers(3);
  const reference = allValues(resnet18(small));
  seedInitializers(3);
  const net = resnet18(small);
  const replaced = new Float32Array(net.conv1.weight.size).fill(0.5);
  net.conv1.weight.data = replaced;
  for (const [name, p] of net.namedParameters()) {
    if (name === 'conv1.weight') assert.equal(p.data, replaced);
    else assert.deepEqual(p.data, reference.get(name), name);
  }
});

test('inference sessions are cached under TLKIT_HOME: same outputs, entry reused, rebuilt when corrupt or when the weights change', async () => {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-session-cache-'));
  const previous = process.env.TLKIT_HOME;
  process.env.TLKIT_HOME = home;
  try {
    seedInitializers(11);
    const source = resnet18(small);
    const weights = path.join(home, 'w.safetensors');
    await writeSafetensors(weights, source.namedParameters().map(([name, p]) => [name, { dtype: 'float32', shape: [...p.shape], data: p.data }]));
    const input = new Float32Array(2 * 28 * 28).map((_, i) => Math.sin(i));
    const load = async () => {
      const { net } = await loadModel('resnet18', { ...small, weights });
      net.eval();
      return net;
    };
    const direct = await InferenceRunner.create(await load(), [1, 28, 28]);
    const expected = (await direct.run(input, 2)).data;
    await direct.release();

    const runOnce = async () => {
      const runner = await createCachedInferenceRunner(await load(), [1, 28, 28], weights);
      const out = (await runner.run(input, 2)).data;
      await runner.release();
      return out;
    };
    assert.deepEqual(await runOnce(), expected);
    const entries = await fs.readdir(sessionCacheFolder(home));
    assert.equal(entries.length, 1, `one entry, no temporaries: ${entries.join(', ')}`);
    const entry = path.join(sessionCacheFolder(home), entries[0]!);
    const stamp = (await fs.stat(entry)).mtimeMs;
    assert.deepEqual(await runOnce(), expected);
    assert.equal((await fs.stat(entry)).mtimeMs, stamp, 'the second run read the entry, it did not rewrite it');

    await fs.truncate(entry, 100);
    assert.deepEqual(await runOnce(), expected, 'a corrupt entry is rebuilt, not fatal');
    assert.ok((await fs.stat(entry)).size > 100);

    // New weights in the same file: a new key, so the stale entry is not used.
    seedInitializers(12);
    const other = resnet18(small);
    await writeSafetensors(weights, other.namedParameters().map(([name, p]) => [name, { dtype: 'float32', shape: [...p.shape], data: p.data }]));
    const changed = await runOnce();
    assert.notDeepEqual(changed, expected);
    assert.equal((await fs.readdir(sessionCacheFolder(home))).length, 2);
  } finally {
    if (previous === undefined) delete process.env.TLKIT_HOME;
    else process.env.TLKIT_HOME = previous;
    await fs.rm(home, { recursive: true, force: true });
  }
});
