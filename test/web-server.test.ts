import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdx } from '../src/data/idx.js';
import { parseCheckpoint } from '../src/io/ckpt.js';
import { startWebServer } from '../src/web/server.js';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCheckpoint } from '../src/io/ckpt.js';
import { BUNDLE, buildBrowserBundle } from './helpers/browser-bundle.js';

test('tlkit web serves the page, bundle, wasm and target task from 127.0.0.1 with cross-origin isolation', async () => {
  if (!existsSync(BUNDLE)) buildBrowserBundle();
  const server = await startWebServer();
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(await page.text(), /<script type="module" src="\/app.js">/);
    for (const [file, type] of [['/tlkit.mjs', 'text/javascript'], ['/app.js', 'text/javascript'], ['/ort-wasm-simd-threaded.jsep.wasm', 'application/wasm'], ['/ort-wasm-simd-threaded.jsep.mjs', 'text/javascript']]) {
      const response = await fetch(new URL(file!, server.url));
      assert.equal(response.status, 200, file);
      assert.match(response.headers.get('content-type') ?? '', new RegExp(type!), file);
      assert.equal(response.headers.get('cross-origin-resource-policy'), 'same-origin');
      await response.arrayBuffer();
    }
    const images = parseIdx(new Uint8Array(await (await fetch(new URL('/data/fashion-mnist-images.idx', server.url))).arrayBuffer()));
    assert.deepEqual(images.shape, [10000, 28, 28]);
    const meta = await (await fetch(new URL('/data/fashion-mnist.json', server.url))).json() as { classNames: string[] };
    assert.equal(meta.classNames.length, 10);
    assert.equal((await fetch(new URL('/data/source.ckpt', server.url))).status, 404, 'no source checkpoint unless given');
    assert.equal((await fetch(new URL('/../package.json', server.url))).status, 404);
    assert.equal((await fetch(new URL('/%2e%2e%2fpackage.json', server.url))).status, 404, 'no path outside dist/browser');
  } finally {
    await server.close();
  }
});

test('tlkit web offers a given source checkpoint, and a plain host (no COOP/COEP) when asked', async () => {
  if (!existsSync(BUNDLE)) buildBrowserBundle();
  const file = path.join(os.tmpdir(), `tlkit-web-source-${process.pid}.ckpt`);
  await writeCheckpoint(file, [['fc.weight', { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }]]);
  const server = await startWebServer({ sourceCheckpoint: file, isolated: false });
  try {
    const page = await fetch(server.url);
    assert.equal(page.headers.get('cross-origin-opener-policy'), null);
    assert.match(await page.text(), /the demo's source checkpoint \(tlkit-web-source-\d+\.ckpt\)/);
    const ckpt = parseCheckpoint(new Uint8Array(await (await fetch(new URL('/data/source.ckpt', server.url))).arrayBuffer()));
    assert.deepEqual(Array.from(ckpt.tensors.get('fc.weight')!.data as Float32Array), [1, 2, 3, 4]);
  } finally {
    await server.close();
  }
});
