/**
 * The tutorial end to end, as a user runs it: `tlkit train` in fixed-feature mode from a
 * MindSpore-named ResNet50 checkpoint on a dogs/wolves ImageFolder at 224 px, then
 * `tlkit visualize` on the best checkpoint. Inputs are generated (few images, so it stays fast).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint, writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { readCheckpoint } from '../src/io/ckpt.js';
import { loadModel } from '../src/models/registry.js';
import { readRunRecord } from '../src/report/run-record.js';
import { RIGHT_COLOR, WRONG_COLOR } from '../src/report/grid.js';

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** Pixels within a small distance of a colour: anti-aliased title text keeps its core pixels. */
async function countColour(png: string, hex: string): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [r, g, b] = rgb(hex);
  let n = 0;
  for (let i = 0; i < info.width * info.height; i++) {
    if (Math.abs(data[3 * i]! - r) < 25 && Math.abs(data[3 * i + 1]! - g) < 25 && Math.abs(data[3 * i + 2]! - b) < 25) n++;
  }
  return n;
}

test('tutorial: tlkit train --mode fixed-feature from a MindSpore resnet50 checkpoint, then tlkit visualize', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-tutorial-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = await writeTutorialImageFolder(path.join(dir, 'Canidae'), { train: 8, val: 4 });
  const pretrained = path.join(dir, 'LoadPretrainedModel', 'resnet50_224_new.ckpt');
  await writeMindSporeResNetCheckpoint(pretrained, 'resnet50', 1000);
  const out = path.join(dir, 'BestCheckpoint');

  const trained = await runCli([
    'train', data, '--model', 'resnet50', '--pretrained', pretrained, '--mode', 'fixed-feature', '--epochs', '2', '--batch-size', '4',
    '--lr', '0.001', '--momentum', '0.5', '--image-size', '224', '--avg-pool', '7', '--out', out, '--no-progress',
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const lines = trained.stdout.split('\n');
  assert.equal(lines[0], 'Start Training Loop ...');
  assert.match(trained.stdout, /^-{20}\nEpoch: \[ {2}1\/ {2}2\], Average Train Loss: \[\d+\.\d{3}\], Accuracy: \[(0|1)\.\d{3}\]\nepoch time: \d+\.\d{3} ms, per step time: \d+\.\d{3} ms$/m);
  assert.match(trained.stdout, /^Epoch: \[ {2}2\/ {2}2\], Average Train Loss: \[\d+\.\d{3}\]/m);
  assert.match(trained.stdout, new RegExp(`^={80}\nEnd of validation the best Accuracy is: [01]\\.\\d{3}, save the best ckpt file in ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/best\\.ckpt$`, 'm'));
  // 16 train images at batch 4: 4 steps per epoch.
  const step = /epoch time: ([\d.]+) ms, per step time: ([\d.]+) ms/.exec(trained.stdout)!;
  assert.ok(Math.abs(Number(step[1]) / 4 - Number(step[2])) < 0.01);

  const best = await readCheckpoint(path.join(out, 'best.ckpt'));
  assert.deepEqual(best.tensors.get('fc.weight')?.shape, [2, 2048]);
  assert.deepEqual(best.tensors.get('fc.bias')?.shape, [2]);
  for (const name of ['conv1.weight', 'norm.gamma', 'norm.moving_variance', 'layer1.0.norm1.beta', 'layer1.0.down_sample.0.weight', 'layer4.2.conv3.weight']) {
    assert.ok(best.tensors.has(name), `best.ckpt lacks ${name}`);
  }
  // The backbone stayed frozen: its weights are the pretrained ones, bit for bit.
  const source = await readCheckpoint(pretrained);
  assert.deepEqual(best.tensors.get('layer3.1.conv2.weight')!.data, source.tensors.get('layer3.1.conv2.weight')!.data);
  assert.notDeepEqual(best.tensors.get('fc.weight')!.data, source.tensors.get('fc.weight')!.data.slice(0, 2 * 2048));
  const { net } = await loadModel('resnet50', { weights: path.join(out, 'best.ckpt') });
  assert.equal(net.padMode, 'same');

  const record = await readRunRecord(out);
  assert.deepEqual(record.classNames, ['dogs', 'wolves']);
  assert.equal(record.history.length, 2);
  assert.equal(record.evaluation?.labels.length, 8);
  assert.equal(record.config.mode, 'fixed-feature');
  for (const file of ['last.ckpt', 'predictions.png', 'report.html']) assert.ok((await stat(path.join(out, file))).size > 0, file);

  const png = path.join(dir, 'predictions.png');
  const shown = await runCli(['visualize', path.join(data, 'val'), '--model', 'resnet50', '--weights', path.join(out, 'best.ckpt'), '--out', png, '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const predictions = JSON.parse(shown.stdout) as Array<{ path: string; actual: string; predicted: string; right: boolean }>;
  assert.equal(predictions.length, 4);
  for (const p of predictions) {
    assert.equal(p.actual, path.basename(path.dirname(p.path)));
    assert.equal(p.right, p.actual === p.predicted);
  }
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  const blue = await countColour(png, RIGHT_COLOR);
  const red = await countColour(png, WRONG_COLOR);
  const right = predictions.filter((p) => p.right).length;
  assert.equal(blue > 20, right > 0, `blue title pixels: ${blue}, right predictions: ${right}`);
  assert.equal(red > 20, right < 4, `red title pixels: ${red}, wrong predictions: ${4 - right}`);
});
