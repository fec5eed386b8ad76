import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRunImages, readRunRecord, validateRunRecord, writeRunImages, writeRunRecord, type RunRecord } from '../src/report/run-record.js';

function sampleRecord(): RunRecord {
  return {
    config: { lr: 0.01 },
    classNames: ['dogs', 'wolves'],
    history: [
      { epoch: 1, trainLoss: 0.7, valAccuracy: 0.6, epochMs: 1000, stepMs: 10 },
      { epoch: 2, trainLoss: 0.5, trainAccuracy: 0.8, valLoss: 0.55, valAccuracy: 0.75, epochMs: 990, stepMs: 9.5 },
    ],
    comparison: [{ method: 'scratch', accuracy: 0.6 }],
    evaluation: { labels: [0, 1], predicted: [0, 0], probabilities: [[0.9, 0.1], [0.6, 0.4]] },
  };
}

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-run-record-'));
}

test('a run record survives a write and read', async () => {
  const dir = await tempDir();
  const record = sampleRecord();
  await writeRunRecord(dir, record);
  assert.deepEqual(await readRunRecord(dir), record);
});

test('reading reports the file and the missing or bad field', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'run.json');
  const broken = sampleRecord() as unknown as { history: Array<Record<string, unknown>> };
  delete broken.history[1]!.valAccuracy;
  await fs.writeFile(file, JSON.stringify(broken));
  await assert.rejects(readRunRecord(dir), (error: Error) => {
    assert.ok(error.message.startsWith(`${file}: `), error.message);
    assert.match(error.message, /history\[1\]\.valAccuracy is missing/);
    return true;
  });

  await fs.writeFile(file, '{"config": {}, ');
  await assert.rejects(readRunRecord(dir), new RegExp(`${escape(file)}: not valid JSON`));
  await fs.rm(file);
  await assert.rejects(readRunRecord(dir), /run\.json: not found/);
});

test('validation catches inconsistent evaluations and bad types', () => {
  const record = sampleRecord() as unknown as Record<string, unknown>;
  assert.deepEqual(validateRunRecord(record), []);
  assert.deepEqual(validateRunRecord([]), ['the top level must be a JSON object']);
  const cases: Array<[(r: any) => void, RegExp]> = [
    [(r) => { r.evaluation.labels = [0, 2]; }, /evaluation\.labels\[1\] is 2, not a class index in 0\.\.1/],
    [(r) => { r.evaluation.predicted = [0]; }, /same length, got 2, 1, 2/],
    [(r) => { r.evaluation.probabilities[1] = [1]; }, /evaluation\.probabilities\[1\] must be 2 finite numbers/],
    [(r) => { r.classNames = []; }, /classNames must be a non-empty array/],
    [(r) => { r.history[0].trainLoss = 'low'; }, /history\[0\]\.trainLoss is "low", must be a finite number/],
    [(r) => { r.comparison[0].method = 3; }, /comparison\[0\]\.method must be a string/],
    [(r) => { delete r.config; }, /config must be an object/],
    [(r) => { r.images = { file: '../x', shape: [2, 4, 4], count: 1, mean: [0], std: [1] }; }, /images\.file must be a file name inside/],
    [(r) => { r.images = { file: 'x.f32', shape: [1, 4, 4], count: 3, mean: [0], std: [1] }; }, /images\.count is 3 but the evaluation has only 2/],
  ];
  for (const [mutate, expected] of cases) {
    const copy = structuredClone(record);
    mutate(copy);
    const problems = validateRunRecord(copy);
    assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in ${JSON.stringify(problems)}`);
  }
});

test('writing refuses an invalid record', async () => {
  const dir = await tempDir();
  const record = sampleRecord();
  record.history[0]!.valAccuracy = Number.NaN;
  await assert.rejects(writeRunRecord(dir, record), /refusing to write .*run\.json: history\[0\]\.valAccuracy is NaN, must be a finite number/);
});

test('evaluation images round-trip through the raw float32 file and a short file is reported', async () => {
  const dir = await tempDir();
  const images = [new Float32Array([1.5, -2, 0.25, 3]), new Float32Array([0, 1, 2, 3])];
  const descriptor = await writeRunImages(dir, images, [1, 2, 2], { mean: [10], std: [2] });
  assert.deepEqual(descriptor, { file: 'eval-images.f32', shape: [1, 2, 2], count: 2, mean: [10], std: [2] });
  assert.deepEqual(await readRunImages(dir, descriptor), images);
  await fs.truncate(path.join(dir, 'eval-images.f32'), 20);
  await assert.rejects(readRunImages(dir, descriptor), /eval-images\.f32: 20 bytes, but images\.count 2 .* needs 32/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
