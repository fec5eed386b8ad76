/** `--precision int8` through the CLI: export, predict, train --mode fixed-feature, and the errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { compose, evalTransforms } from '../src/data/transforms.js';
import { DEFAULT_CALIBRATION_IMAGES } from '../src/runtime/int8.js';
import { parseTrace } from '../src/util/trace.js';
import { runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint, writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';

let dir: string;
let data: string;
let weights: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-int8-cli-'));
  data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 12, val: 6, size: 60 });
  weights = path.join(dir, 'source.ckpt');
  await writeMindSporeResNetCheckpoint(weights, 'resnet18', 2);
  env = { TLKIT_HOME: path.join(dir, 'home') }; // the calibration cache goes here
});
after(() => rm(dir, { recursive: true, force: true }));

test('tlkit export --precision int8: ~4x smaller, runs in a fresh onnxruntime-node session and matches tlkit predict --precision int8', async () => {
  const floatFile = path.join(dir, 'float.onnx');
  const int8File = path.join(dir, 'int8.onnx');
  const common = ['--model', 'resnet18', '--image-size', '64'];
  assert.equal((await runCli(['export', weights, ...common, '--out', floatFile], { env })).code, 0);
  const exported = await runCli(['export', weights, ...common, '--precision', 'int8', '--calibrate-on', data, '--calibration-images', '16', '--out', int8File], { env });
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /int8: 20 convolutions .* minmax calibration on 16 images; int8 vs float32 cosine/);
  const [floatBytes, int8Bytes] = [(await stat(floatFile)).size, (await stat(int8File)).size];
  assert.ok(int8Bytes * 3.5 < floatBytes, `int8 ${int8Bytes} bytes vs float32 ${floatBytes}`);

  const val = path.join(data, 'val');
  const predicted = await runCli(['predict', val, '--weights', weights, ...common, '--precision', 'int8', '--calibrate-on', data, '--calibration-images', '16', '--json'], { env });
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.match(predicted.stderr, /minmax calibration on 16 images \(cached\)/, 'predict reuses the calibration export made');
  const predictions = JSON.parse(predicted.stdout) as Array<{ source: string; label: number; logits: number[] }>;
  assert.equal(predictions.length, 12);

  const session = await ort.InferenceSession.create(int8File);
  const ops = new Set((await import('onnx-proto')).default.onnx.ModelProto.decode(await readFile(int8File)).graph!.node!.map((n) => n.opType));
  assert.ok(ops.has('QuantizeLinear') && ops.has('DequantizeLinear') && !ops.has('BatchNormalization'), [...ops].join(', '));
  const pipeline = compose(evalTransforms(64));
  try {
    for (const p of predictions) {
      const image = await pipeline.apply({ kind: 'file', path: p.source });
      const out = await session.run({ input: new ort.Tensor('float32', image.data, [1, 3, 64, 64]) });
      const logits = out.output!.data as Float32Array;
      p.logits.forEach((v, i) => assert.ok(Math.abs(logits[i]! - v) < 1e-4 * Math.max(1, Math.abs(v)), `${p.source}[${i}]: ${logits[i]} vs ${v}`));
    }
  } finally {
    await session.release();
  }
  // One calibration and one agreement measurement, written by export, read back by predict.
  const cacheDir = path.join(dir, 'home', 'calibration');
  const records = await Promise.all((await readdir(cacheDir)).map(async (f) => (JSON.parse(await readFile(path.join(cacheDir, f), 'utf8')) as { format: string }).format));
  assert.deepEqual(records.sort(), ['tlkit-int8-agreement-1', 'tlkit-int8-calibration-1']);
});

test('tlkit train --mode fixed-feature --precision int8 records the calibration and the int8/float32 agreement in run.json, calibrating once', async () => {
  const trainInt8 = (out: string, extraEnv: NodeJS.ProcessEnv = {}) => runCli([
    'train', data, '--model', 'resnet18', '--pretrained', weights, '--mode', 'fixed-feature', '--epochs', '2', '--batch-size', '6', '--image-size', '64',
    '--no-augment', '--lr', '0.01', '--precision', 'int8', '--calibration-images', '8', '--out', out, '--no-progress',
  ], { env: { ...env, ...extraEnv } });
  const out = path.join(dir, 'run');
  const result = await trainInt8(out, { TLKIT_TRACE: '1' });
  assert.equal(result.code, 0, result.stderr);
  // TLKIT_TRACE: where the wall time went, phase by phase (bench/tutorial.ts prints it).
  const phases = parseTrace(result.stderr);
  assert.deepEqual(phases.map((p) => p.phase), [
    'start-up (Node.js, modules, options)', 'data folders scanned, network built (weights drawn when first read)', 'lr-find, int8 samples, run record',
    'network weights and float32 inference graph', 'int8: BN folded', 'int8: calibration (float32 pass over 8 images)', 'int8: QDQ graph',
    'int8: agreement (float32 and int8 over 12 held-out images)', 'training graphs (frozen prefix, its int8 build, training step)', 'epochs',
    'final evaluation (best.ckpt over val)', 'run record, prediction grid, report',
  ], result.stderr);
  assert.ok(phases.every((p) => Number.isFinite(p.ms) && p.ms >= 0));
  const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) as { config: Record<string, any> };
  // One calibration, one agreement measurement; the final evaluation runs fc on the int8 val features validation
  // computed (no second int8 build: nothing reused), and reports that graph.
  assert.deepEqual(run.config.int8Work, { calibrations: 1, cacheHits: 0, agreements: 1, agreementsCached: 0, reused: 0 });
  assert.equal(result.stdout.match(/^int8: /gm)?.length, 1, result.stdout);
  assert.deepEqual(Object.keys(run.config.int8).sort(), ['evaluation', 'frozen']);
  assert.deepEqual(run.config.int8.evaluation, run.config.int8.frozen);
  assert.equal(run.config.precision, 'int8');
  const frozen = run.config.int8.frozen;
  assert.deepEqual([frozen.calibration.method, frozen.calibration.images, frozen.activations], ['minmax', 8, 'uint8']);
  assert.match(frozen.calibration.sample, /^8 of 24 images of .*train/);
  assert.equal(frozen.agreement.images, 12); // val/ holds 12 images, none used for calibration
  assert.ok(frozen.agreement.meanCosine > 0.99, `cosine ${frozen.agreement.meanCosine}`);
  assert.ok(run.config.int8.evaluation, 'the final evaluation ran int8 too');

  assert.equal(frozen.agreement.cached, false);
  // A second run on the same data reads the calibration and the agreement back from TLKIT_HOME/calibration.
  const again = await trainInt8(path.join(dir, 'run-again'));
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /tlkit trace:/, 'no trace without TLKIT_TRACE');
  const second = JSON.parse(await readFile(path.join(dir, 'run-again', 'run.json'), 'utf8')) as { config: Record<string, any> };
  assert.deepEqual(second.config.int8Work, { calibrations: 0, cacheHits: 1, agreements: 0, agreementsCached: 1, reused: 0 });
  assert.equal(second.config.int8.frozen.calibration.cached, true);
  assert.deepEqual(second.config.int8.frozen.agreement, { ...frozen.agreement, cached: true });
  assert.match(again.stdout, /held-out images \(cached\)/, 'the log says the agreement was measured by an earlier run');
  // Another calibration sample is another int8 model: calibrated and measured anew, nothing read back.
  const other = await runCli([
    'train', data, '--model', 'resnet18', '--pretrained', weights, '--mode', 'fixed-feature', '--epochs', '1', '--batch-size', '6', '--image-size', '64',
    '--no-augment', '--lr', '0.01', '--precision', 'int8', '--calibration-images', '6', '--out', path.join(dir, 'run-other'), '--no-progress',
  ], { env });
  assert.equal(other.code, 0, other.stderr);
  const third = JSON.parse(await readFile(path.join(dir, 'run-other', 'run.json'), 'utf8')) as { config: Record<string, any> };
  assert.deepEqual(third.config.int8Work, { calibrations: 1, cacheHits: 0, agreements: 1, agreementsCached: 0, reused: 0 });
});

test('tlkit visualize --precision int8: the grid shows the int8 model\'s predictions, the same as tlkit predict --precision int8', async () => {
  const val = path.join(data, 'val');
  const common = ['--weights', weights, '--model', 'resnet18', '--image-size', '64', '--precision', 'int8', '--calibrate-on', data, '--calibration-images', '16'];
  const predicted = await runCli(['predict', val, ...common, '--json'], { env });
  assert.equal(predicted.code, 0, predicted.stderr);
  const argmax = new Map((JSON.parse(predicted.stdout) as Array<{ source: string; logits: number[] }>).map((p) => [p.source, p.logits.indexOf(Math.max(...p.logits))]));
  const png = path.join(dir, 'int8-grid.png');
  const shown = await runCli(['visualize', val, ...common, '--rows', '2', '--cols', '3', '--out', png, '--json'], { env });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stderr, /int8: 20 convolutions .* minmax calibration on 16 images \(cached\)/, 'the calibration predict made, read back');
  const grid = JSON.parse(shown.stdout) as Array<{ path: string; predicted: string }>;
  assert.equal(grid.length, 6);
  const classes = (await readdir(val)).sort();
  for (const p of grid) assert.equal(p.predicted, classes[argmax.get(p.path)!], p.path);
  assert.ok((await stat(png)).size > 0);
});

test('--precision: an unknown value, or int8 on layers that train, is refused naming the flag and what is allowed', async () => {
  const bad = await runCli(['eval', data, '--model', 'resnet18', '--weights', weights, '--precision', 'fp16'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--precision must be one of float32, int8, got "fp16"/);
  for (const [args, why] of [
    [['--mode', 'finetune'], /--mode finetune without --from-stage trains every layer/],
    [['--mode', 'scratch'], /--mode scratch trains every layer/],
    [['--mode', 'fixed-feature', '--bn-train'], /--bn-train keeps the backbone's BN layers training/],
  ] as const) {
    const refused = await runCli(['train', data, '--model', 'resnet18', ...args, '--precision', 'int8', '--out', path.join(dir, 'refused')], { env });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--precision int8 applies to frozen layers only/);
    assert.match(refused.stderr, why);
    assert.match(refused.stderr, /allowed: --precision float32, or int8 with --mode fixed-feature or --mode finetune --from-stage <stage>/);
  }
  const noImages = await runCli(['export', weights, '--model', 'resnet18', '--precision', 'int8', '--out', path.join(dir, 'x.onnx')], { env });
  assert.equal(noImages.code, 1);
  assert.match(noImages.stderr, /--precision int8 needs --calibrate-on <folder>/);
});

test('tlkit pipeline --precision int8: fixed-feature and feature-based transfer on an int8 backbone, its agreement in the JSON', { timeout: 600_000 }, async () => {
  const out = path.join(dir, 'pipeline');
  const result = await runCli(['pipeline', '--epoch-scale', '0.1', '--precision', 'int8', '--json', '--out', out], { env, timeoutMs: 600_000 });
  assert.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout) as { precision: string; int8: { calibration: { method: string; images: number; sample: string }; agreement: { meanCosine: number; images: number } }; target: Array<{ method: string; accuracy: number }> };
  assert.equal(json.precision, 'int8');
  // The default sample, of the 10 shots x 5 classes.
  assert.deepEqual([json.int8.calibration.method, json.int8.calibration.images], ['minmax', Math.min(DEFAULT_CALIBRATION_IMAGES, 50)]);
  assert.match(json.int8.calibration.sample, /of the labelled target images/);
  assert.equal(json.int8.agreement.images, 32);
  assert.ok(json.int8.agreement.meanCosine > 0.99, `cosine ${json.int8.agreement.meanCosine}`);
  for (const method of ['fixed-feature', 'feature-softmax', 'feature-knn', 'finetune']) assert.ok(json.target.some((t) => t.method === method), method);
  // Fixed-feature training, its evaluation and both feature extractions share one backbone graph: one calibration.
  assert.equal(result.stderr.match(/int8: 20 convolutions/g)?.length, 1, result.stderr);
});
