import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot, runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint, writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { readCheckpoint } from '../src/io/ckpt.js';
import { readRunRecord } from '../src/report/run-record.js';

let dir: string;
let data: string;
let pretrained: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-train-'));
  data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 6, val: 3, size: 64 });
  pretrained = path.join(dir, 'resnet18.ckpt');
  await writeMindSporeResNetCheckpoint(pretrained, 'resnet18', 1000);
});
after(() => rm(dir, { recursive: true, force: true }));

const common = () => ['--model', 'resnet18', '--pretrained', pretrained, '--batch-size', '4', '--image-size', '64', '--no-progress'];

test('tlkit train: a bad data folder gets a one-line error naming the path', async () => {
  const missing = path.join(dir, 'no-such-folder');
  const gone = await runCli(['train', missing, ...common()]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`^tlkit: ${missing.replace(/[/\\.]/g, '\\$&')}: no such folder`));

  const noVal = path.join(dir, 'only-train');
  await mkdir(path.join(noVal, 'train', 'a'), { recursive: true });
  const half = await runCli(['train', noVal, ...common()]);
  assert.equal(half.code, 1);
  assert.match(half.stderr, /only-train: expected train\/ and val\/ image folders inside, val\/ missing/);

  const badMode = await runCli(['train', data, ...common(), '--mode', 'linear-probe']);
  assert.match(badMode.stderr, /--mode must be one of fixed-feature, finetune, scratch, got "linear-probe"/);
  const badPool = await runCli(['train', data, ...common(), '--avg-pool', '7']);
  assert.match(badPool.stderr, /--avg-pool 7 .* at --image-size 64 layer4's output is 2x2/);
});

test('tlkit train --resume continues from last.ckpt after the last complete epoch', async () => {
  const out = path.join(dir, 'resume');
  const first = await runCli(['train', data, ...common(), '--epochs', '1', '--no-augment', '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Epoch: \[ {2}1\/ {2}1\]/);
  const afterFirst = await readCheckpoint(path.join(out, 'last.ckpt'));
  assert.ok(afterFirst.tensors.has('moments.fc.weight'), 'last.ckpt holds the Momentum state');

  const second = await runCli(['train', data, ...common(), '--epochs', '3', '--no-augment', '--out', out, '--resume']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`Resuming from ${path.join(out, 'last.ckpt').replace(/[/\\.]/g, '\\$&')} after epoch 1`));
  assert.doesNotMatch(second.stdout, /Epoch: \[ {2}1\/ {2}3\]/);
  assert.match(second.stdout, /Epoch: \[ {2}2\/ {2}3\][^]*Epoch: \[ {2}3\/ {2}3\]/);
  const record = await readRunRecord(out);
  assert.deepEqual(record.history.map((h) => h.epoch), [1, 2, 3]);
  const last = await readCheckpoint(path.join(out, 'last.ckpt'));
  assert.notDeepEqual(last.tensors.get('fc.weight')!.data, afterFirst.tensors.get('fc.weight')!.data);
});

test('tlkit train --mode finetune --from-stage layer4 trains layer4 and fc only', async () => {
  const out = path.join(dir, 'finetune');
  const result = await runCli(['train', data, ...common(), '--mode', 'finetune', '--from-stage', 'layer4', '--epochs', '1', '--lr', '0.01', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  const source = await readCheckpoint(pretrained);
  const best = await readCheckpoint(path.join(out, 'best.ckpt'));
  assert.deepEqual(best.tensors.get('fc.weight')!.shape, [2, 512]);
  assert.deepEqual(best.tensors.get('layer3.1.conv2.weight')!.data, source.tensors.get('layer3.1.conv2.weight')!.data, 'layer3 stays frozen');
  assert.deepEqual(best.tensors.get('layer3.1.norm2.moving_mean')!.data, source.tensors.get('layer3.1.norm2.moving_mean')!.data, 'layer3 BN statistics stay');
  assert.notDeepEqual(best.tensors.get('layer4.1.conv2.weight')!.data, source.tensors.get('layer4.1.conv2.weight')!.data, 'layer4 is trained');
  const record = await readRunRecord(out);
  assert.equal(record.config.fromStage, 'layer4');
  assert.equal(record.config.mode, 'finetune');
});

test('tlkit train: Ctrl-C stops after the current step, keeps best.ckpt, exits 130', async () => {
  const out = path.join(dir, 'interrupted');
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tlkit.js'), 'train', data, ...common(), '--image-size', '32', '--epochs', '500', '--no-augment', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!signalled && /Epoch: \[ {2}2\/500\]/.test(stdout)) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /Interrupted: stopping after the current step/);
  assert.doesNotMatch(stdout, /Epoch: \[500\/500\]/);
  assert.ok((await stat(path.join(out, 'best.ckpt'))).size > 0);
  const best = await readCheckpoint(path.join(out, 'best.ckpt'));
  assert.deepEqual(best.tensors.get('fc.weight')!.shape, [2, 512]);
});

test('tlkit train --mode fixed-feature --bn-train: the frozen backbone keeps its weights but its BN statistics move, as in the tutorial', async () => {
  const out = path.join(dir, 'bn-train');
  const result = await runCli(['train', data, ...common(), '--image-size', '32', '--epochs', '1', '--bn-train', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  const source = await readCheckpoint(pretrained);
  const last = await readCheckpoint(path.join(out, 'last.ckpt'));
  assert.deepEqual(last.tensors.get('layer2.0.conv1.weight')!.data, source.tensors.get('layer2.0.conv1.weight')!.data);
  assert.notDeepEqual(last.tensors.get('layer2.0.norm1.moving_mean')!.data, source.tensors.get('layer2.0.norm1.moving_mean')!.data);
  assert.equal((await readRunRecord(out)).config.bnTraining, true);
});
