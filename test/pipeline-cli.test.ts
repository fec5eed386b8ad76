import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli.js';
import { readTrainingCheckpoint } from '../src/train/checkpoint.js';

const METHODS = ['scratch', 'fixed-feature', 'feature-softmax', 'feature-knn', 'finetune', 'finetune-rkd'];

interface PipelineJson {
  source: { accuracy: number; baselines: { majority: number; linear: number } };
  target: Array<{ method: string; accuracy: number }>;
}

function checkShape(result: PipelineJson): Map<string, number> {
  assert.deepEqual(Object.keys(result).sort(), ['source', 'target']);
  assert.deepEqual(Object.keys(result.source.baselines).sort(), ['linear', 'majority']);
  assert.deepEqual(result.target.map((t) => t.method), METHODS);
  for (const t of result.target) assert.ok(t.accuracy >= 0 && t.accuracy <= 1);
  return new Map(result.target.map((t) => [t.method, t.accuracy]));
}

test('tlkit demo (shortened epochs) writes the table, checkpoints, prediction grid and report, and says where', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'tlkit-demo-'));
  const result = await runCli(['demo', '--epoch-scale', '0.1', '--out', out], { timeoutMs: 300_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\| scratch — from scratch \(same labels\) \| 0\.\d{3} \|/);
  assert.match(result.stdout, new RegExp(`Outputs in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  for (const file of ['comparison.md', 'results.json', 'predictions.png', 'report.html', 'run.json', 'checkpoints/source-best.ckpt', 'checkpoints/finetune/best.ckpt']) {
    assert.ok((await stat(path.join(out, file))).size > 0, `${file} is missing or empty`);
  }
  const { timingsMs, ...results } = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as PipelineJson & { timingsMs: Record<string, number> };
  checkShape(results);
  assert.ok(timingsMs.source! > 0, 'results.json records how long each step took');
  const png = await readFile(path.join(out, 'predictions.png'));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  const source = await readTrainingCheckpoint(path.join(out, 'checkpoints/source-best.ckpt'));
  assert.deepEqual(source.tensors.get('fc.weight')?.shape, [5, 128]);
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(html, /fixed-feature/);
});

test('tlkit pipeline rejects overlapping or unknown classes with a one-line reason', async () => {
  const overlap = await runCli(['pipeline', '--source-classes', '0,1,2', '--target-classes', '2,3', '--json']);
  assert.notEqual(overlap.code, 0);
  assert.match(overlap.stderr, /share Pullover/);
  const unknown = await runCli(['pipeline', '--source-classes', '0,1', '--target-classes', 'Hat,Bag', '--json']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown class "Hat"/);
});

/**
 * The demo's claim on another split built the same way (every target class has a related source
 * class: Pullover~Coat, Dress~T-shirt, Sandal/Ankle boot~Sneaker, Shirt~T-shirt), with full epochs
 * as a user runs it. On the plain swap of the demo's classes fixed features only tie with scratch:
 * the README's table shows that case too.
 */
test('on a different split the ordering holds: fixed features beat scratch, fine-tuning does at least as well', { timeout: 1_200_000 }, async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'tlkit-pipeline-'));
  const split = (process.env.TLKIT_TEST_SPLIT ?? '0,1,4,7,8/2,3,5,6,9').split('/');
  const result = await runCli(['pipeline', '--json', '--source-classes', split[0]!, '--target-classes', split[1]!, '--shots', '10', '--seed', '1', '--out', out], { timeoutMs: 1_200_000 });
  assert.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout) as PipelineJson;
  const accuracy = checkShape(json);
  assert.ok(json.source.accuracy > json.source.baselines.majority && json.source.accuracy > json.source.baselines.linear,
    `source ${json.source.accuracy} vs baselines ${JSON.stringify(json.source.baselines)}`);
  process.stderr.write(`pipeline on ${split.join(' -> ')}: ${result.stdout}`);
  assert.ok(accuracy.get('fixed-feature')! > accuracy.get('scratch')!, `fixed-feature ${accuracy.get('fixed-feature')} vs scratch ${accuracy.get('scratch')}`);
  assert.ok(accuracy.get('finetune')! >= accuracy.get('fixed-feature')!, `finetune ${accuracy.get('finetune')} vs fixed-feature ${accuracy.get('fixed-feature')}`);
});
