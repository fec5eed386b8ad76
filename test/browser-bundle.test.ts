import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as v8 from 'node:v8';
import * as esbuild from 'esbuild';
import * as node from '../src/index.js';
import { encodeCheckpoint, parseCheckpoint } from '../src/io/ckpt.js';
import { crc32, crc32Js } from '../src/util/crc32.js';
import { BUNDLE, buildBrowserBundle, importBundle, ROOT, type Tlkit } from './helpers/browser-bundle.js';

// V8 in Node 20 spends about a minute of CPU optimizing onnxruntime-web's 28 MB wasm (TurboFan tier-up)
// and holds the process open until it is done; the baseline compiler alone runs these small steps in
// ~0.1 s. Correctness is what this file checks (bench/ measures speed), so optimize nothing.
v8.setFlagsFromString('--liftoff-only');

const root = ROOT;
const bundle = BUNDLE;

const NODE_ONLY_PACKAGES = ['sharp', 'onnxruntime-node', 'cli-progress', '@resvg', 'yauzl', 'commander'];

test('the browser bundle is one self-contained module with onnxruntime-web files beside it and nothing Node-only inside', () => {
  buildBrowserBundle();
  for (const file of ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm']) {
    assert.ok(existsSync(path.join(root, 'dist', 'browser', file)), `${file} is copied beside the bundle`);
  }
  // Bundling the bundle again resolves nothing: no import is left for a browser to fetch by name.
  const again = esbuild.buildSync({ entryPoints: [bundle], bundle: true, write: false, format: 'esm', platform: 'neutral', metafile: true, logLevel: 'silent' });
  assert.deepEqual(Object.keys(again.metafile.inputs), [path.relative(process.cwd(), bundle)]);
  const text = readFileSync(bundle, 'utf8');
  assert.doesNotMatch(text, /\bfrom\s*["'](node:|sharp|onnxruntime-node)/, 'no static import of a Node-only module');
  // What went in: tlkit's modules and onnxruntime-web, never a Node-only package or a `*-node.js` module's body.
  const meta = JSON.parse(readFileSync(path.join(root, 'dist', 'browser', 'tlkit.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
  const inputs = Object.keys(meta.inputs);
  assert.ok(inputs.some((i) => i.includes('onnxruntime-web')), 'onnxruntime-web is bundled');
  assert.ok(inputs.some((i) => i.endsWith('dist/src/runtime/train-step.js')), 'the runtime is bundled');
  for (const input of inputs) {
    for (const pkg of NODE_ONLY_PACKAGES) assert.ok(!input.includes(`node_modules/${pkg}/`), `${input} is Node-only`);
    if (input.endsWith('-node.js')) assert.ok(input.startsWith('node-only:'), `${input} was replaced by its stand-in`);
  }
});

test('tlkit/browser loads in Node (onnxruntime-web wasm): the same names as the Node entry, and a training step with the same losses', { timeout: 180_000 }, async () => {
  if (!existsSync(bundle)) buildBrowserBundle();
  const specifier = 'tlkit/browser'; // the package's own export, resolved through package.json "exports"
  const web = (await import(specifier)) as Tlkit;
  assert.equal((await import(pathToFileURL(bundle).href)) as Tlkit, web, 'tlkit/browser is dist/browser/tlkit.mjs');

  const browserOnly = new Set(['pixelsFromImage', 'canvasImageBackend', 'browserThreads', 'threadsAvailable', 'WASM_MEMORY_BYTES']);
  for (const name of Object.keys(web)) {
    if (browserOnly.has(name)) continue;
    assert.ok(name in node, `${name} is in the browser entry but not the Node entry`);
    assert.equal(typeof web[name as keyof Tlkit], typeof node[name as keyof typeof node], `${name} has the same kind in both`);
  }
  for (const name of ['Graph', 'gradients', 'createResNet', 'resnet18', 'resnet50', 'resnet152', 'seedInitializers', 'InferenceRunner', 'TrainStep',
    'fit', 'replaceHead', 'trainFixedFeature', 'fineTune', 'SoftmaxRegression', 'KNearestNeighbours', 'NearestClassMean', 'parseCheckpoint',
    'encodeCheckpoint', 'parseSafetensors', 'encodeSafetensors', 'exportInferenceOnnx', 'netCheckpointEntries', 'DataLoader', 'compose', 'useOrt'] as const) {
    assert.equal(typeof web[name], 'function', `${name} is exported by tlkit/browser`);
  }
  assert.equal(typeof web.ops.conv2d, 'function');

  // Two training steps of a small ResNet-18 through each entry, from the same initial weights.
  const losses = async (lib: Tlkit | typeof node): Promise<number[]> => {
    lib.seedInitializers(7);
    const net = lib.createResNet('resnet18', { numClasses: 4, inChannels: 1, width: 8, smallInput: true });
    const step = await lib.TrainStep.create(net, { inputShape: [1, 12, 12], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true, session: { threads: 1 } });
    const images = Float32Array.from({ length: 4 * 144 }, (_, i) => Math.sin(i * 0.37));
    const out: number[] = [];
    try {
      for (let k = 0; k < 2; k++) out.push((await step.step(images, [0, 1, 2, 3], 0.05)).loss);
    } finally {
      await step.release();
    }
    return out;
  };
  const [fromWeb, fromNode] = [await losses(web), await losses(node)];
  fromWeb.forEach((loss, k) => {
    assert.ok(Number.isFinite(loss));
    assert.ok(Math.abs(loss - fromNode[k]!) <= 1e-5 * Math.abs(fromNode[k]!), `step ${k + 1}: onnxruntime-web ${loss} vs onnxruntime-node ${fromNode[k]}`);
  });
  assert.notEqual(fromWeb[0], fromWeb[1], 'the second step sees updated weights');

  // Checkpoint bytes written by the bundle read back in Node, tensor for tensor.
  const net = web.createResNet('resnet18', { numClasses: 3, width: 8 });
  const chunks = web.encodeCheckpoint(web.netCheckpointEntries(net));
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const parsed = parseCheckpoint(bytes, 'from the bundle');
  assert.equal(parsed.tensors.size, net.parameters().length);
  assert.deepEqual(Array.from(parsed.tensors.get('fc.weight')!.data as Float32Array), Array.from(net.parameters().find((p) => p.name === 'fc.weight')!.data));
});

test('the training memory estimate refuses a batch that does not fit in WebAssembly memory, naming one that does', async () => {
  const web = await importBundle();
  const net = web.createResNet('resnet50', { numClasses: 2 });
  const estimate = web.estimateTrainingMemory(net, { inputShape: [3, 224, 224], batchSize: 256, optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true });
  assert.ok(estimate.totalBytes > 4 * 1024 ** 3, 'ResNet-50 at batch 256 needs more than 4 GB');
  const images = { batchSize: 256, dropRemainder: false, steps: 1, dataset: { length: 256, labelAt: () => 0 }, order: () => new Int32Array(256), epoch: async function* () {} };
  await assert.rejects(
    web.fit(net, { epochs: 1, train: images, inputShape: [3, 224, 224], optimizer: { kind: 'momentum', momentum: 0.9 }, lr: 0.01, log: () => undefined }),
    (error: Error) => {
      assert.equal(error.name, 'InsufficientMemoryError');
      assert.match(error.message, /WebAssembly's 4 GB memory is 4096 MB; try a batch size of \d+/);
      const suggested = Number(/batch size of (\d+)/.exec(error.message)![1]);
      assert.ok(suggested > 0 && suggested < 256);
      const fits = web.estimateTrainingMemory(net, { inputShape: [3, 224, 224], batchSize: suggested, optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true });
      assert.ok(fits.totalBytes <= 4 * 1024 ** 3, `the suggested batch ${suggested} fits`);
      return true;
    },
  );
});

test('crc32 without zlib (the browser path) equals zlib.crc32, chained over chunks', () => {
  const data = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
  assert.equal(crc32Js(data), crc32(data));
  assert.equal(crc32Js(data.subarray(5000), crc32Js(data.subarray(0, 5000))), crc32(data));
  const withTrailer = encodeCheckpoint([['w', { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) }]], { crc: true });
  assert.equal(parseCheckpoint(new Uint8Array(Buffer.concat(withTrailer))).crc, 'verified');
});
