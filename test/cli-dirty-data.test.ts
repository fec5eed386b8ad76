import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers/cli.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { writeDirtyClass, type DirtyClass } from './helpers/dirty-images.js';
import { readRunRecord } from '../src/report/run-record.js';

let dir: string;
let data: string;
let dirty: DirtyClass;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-dirty-cli-'));
  data = path.join(dir, 'data');
  let seed = 1;
  for (const split of ['train', 'val']) {
    for (const name of ['cats', 'dogs']) dirty = await writeDirtyClass(path.join(data, split, name), path.join(dir, 'outside'), { seed: seed++ });
  }
});
after(() => fs.rm(dir, { recursive: true, force: true }));

const tiny = ['--model', 'resnet18', '--mode', 'fixed-feature', '--batch-size', '4', '--image-size', '32', '--no-progress'];
const every = (names: readonly string[]) =>
  ['train', 'val'].flatMap((split) => ['cats', 'dogs'].flatMap((c) => names.map((n) => path.join(data, split, c, n)))).sort();

test('tlkit train on a dirty folder: bad files skipped and named once each in the log and in run.json; good images all used; exit 0', async () => {
  const out = path.join(dir, 'run');
  const run = await runCli(['train', data, ...tiny, '--epochs', '2', '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  const record = await readRunRecord(out);
  const bad = record.skippedFiles!.filter((f) => f.kind === 'bad-image' || f.kind === 'too-many-pixels');
  assert.deepEqual(bad.map((f) => f.path).sort(), every([...dirty.badHeader, ...dirty.badDecode]));
  assert.deepEqual(record.skippedFiles!.filter((f) => f.kind === 'link').map((f) => f.path).sort(), every(dirty.links));
  for (const file of bad) {
    const mentions = run.stderr.split(file.path).length - 1;
    assert.equal(mentions, 1, `${file.path} warned about once over two epochs and the final evaluation, got ${mentions}`);
  }
  for (const file of bad.filter((f) => f.path.includes('truncated'))) {
    assert.match(file.reason, file.path.endsWith('.jpg') ? /^cannot decode: VipsJpeg: premature end of JPEG image$/ : /^cannot decode: vipspng: libpng read error$/, file.path);
  }
  assert.match(run.stderr, /warning: .*train\/cats\/truncated\.jpg: cannot decode: VipsJpeg: premature end of JPEG image, skipped/);
  assert.match(run.stderr, /warning: .*train\/cats\/loop\/back: symlink loop .*not followed/);
  assert.match(run.stdout, new RegExp(`${record.skippedFiles!.length} data files left out .*run\\.json lists them`));
  // The truncated files pass the header check, so they are planned examples until decoded.
  assert.equal(record.config.trainImages, 2 * (dirty.good.length + dirty.badDecode.length));
  assert.deepEqual(record.history.map((h) => h.epoch), [1, 2]);
  // The final evaluation covers every good val image, each once.
  assert.equal(record.evaluation!.labels.length, 2 * dirty.good.length);
  const report = await fs.readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(report, /<section id="data">.*files left out: .*unreadable image/);
  assert.match(report, /val\/dogs\/truncated\.png/);
});

test('tlkit train --strict-data stops before any epoch, naming the first bad file; exit 1', async () => {
  const out = path.join(dir, 'strict');
  const run = await runCli(['train', data, ...tiny, '--epochs', '1', '--out', out, '--strict-data']);
  assert.equal(run.code, 1);
  const first = path.join(data, 'train', 'cats', 'pixel-bomb.png');
  assert.match(run.stderr, new RegExp(`^tlkit: --strict-data: bad image ${first.replace(/[/\\.]/g, '\\$&')}: 20000x20000 is 400000000 pixels.* \\(and 19 more bad files\\); nothing was trained`, 'm'));
  assert.doesNotMatch(run.stdout, /Epoch:/);
  await assert.rejects(fs.stat(path.join(out, 'last.ckpt')));
});

test('tlkit train --pixel-limit: images above it are skipped and listed', async () => {
  const out = path.join(dir, 'limit');
  // The good images are 32x24 = 768 pixels, the truncated JPEG 64x64.
  const run = await runCli(['train', data, ...tiny, '--epochs', '1', '--out', out, '--pixel-limit', '1000']);
  assert.equal(run.code, 0, run.stderr);
  const record = await readRunRecord(out);
  const limited = record.skippedFiles!.filter((f) => f.kind === 'too-many-pixels').map((f) => f.path).sort();
  assert.deepEqual(limited, every(['pixel-bomb.png', 'truncated.jpg']));
  assert.equal(record.config.pixelLimit, 1000);
  const bad = await runCli(['train', data, ...tiny, '--out', out, '--pixel-limit', '-1']);
  assert.match(bad.stderr, /--pixel-limit must be a non-negative integer, got "-1"/);
});

test('tlkit verify decodes every image in full and lists the bad ones (exit 1); a clean folder exits 0', async () => {
  const run = await runCli(['verify', data, '--no-progress']);
  assert.equal(run.code, 1, run.stderr);
  const listed = [...run.stdout.matchAll(/^bad: (.*?): (.*)$/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(listed, every([...dirty.badHeader, ...dirty.badDecode]));
  // Each reason is its own file's, though libvips swaps the messages of failures that overlap.
  for (const m of run.stdout.matchAll(/^bad: .*truncated\.(jpg|png): (.*)$/gm)) {
    assert.match(m[2]!, m[1] === 'jpg' ? /^cannot decode: VipsJpeg: premature end of JPEG image$/ : /^cannot decode: vipspng: libpng read error$/);
  }
  assert.match(run.stdout, /^bad: .*val\/dogs\/pixel-bomb\.png: 20000x20000 is 400000000 pixels, above the pixel limit of 268402689$/m);
  const links = [...run.stdout.matchAll(/^not followed: (.*?): /gm)].map((m) => m[1]!).sort();
  assert.deepEqual(links, every(dirty.links));
  const perClass = dirty.good.length + dirty.badHeader.length + dirty.badDecode.length;
  assert.match(run.stdout, new RegExp(`^${4 * perClass} images checked in .*: ${4 * dirty.good.length} good, 20 bad; 4 other files \\(no image extension\\) not checked$`, 'm'));

  const clean = path.join(dir, 'clean');
  await fs.mkdir(path.join(clean, 'a'), { recursive: true });
  await fs.copyFile(path.join(data, 'train', 'cats', 'plain.png'), path.join(clean, 'a', 'one.png'));
  await fs.copyFile(path.join(data, 'train', 'cats', 'cmyk.jpg'), path.join(clean, 'two.jpg'));
  const ok = await runCli(['verify', clean, '--jobs', '1', '--progress']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^2 images checked in .*: 2 good, 0 bad$/m);
  assert.match(ok.stderr, /verify \[.*\] 2\/2 images/, 'the progress bar, asked for on a pipe');
});

test('tlkit verify reports a picture that is in both train/ and val/ (re-encoded, rescaled) as a leak, and only that one', async () => {
  const root = await writeTutorialImageFolder(path.join(dir, 'leaky'), { train: 4, val: 3, size: 48 });
  const original = path.join(root, 'train', 'wolves', 'train_wolves_002.jpg');
  const copy = path.join(root, 'val', 'wolves', 'copy.jpg');
  const { width } = await sharp(original).metadata();
  await fs.writeFile(copy, await sharp(original).resize(Math.round(width! * 0.8)).jpeg({ quality: 60 }).toBuffer());
  const run = await runCli(['verify', root, '--no-progress']);
  assert.equal(run.code, 0, run.stderr);
  const leaks = [...run.stdout.matchAll(/^leak: (.*) ~ (.*) \((\d+) of 256 hash positions differ\)$/gm)];
  assert.deepEqual(leaks.map((m) => [m[1], m[2]]), [[original, copy]], run.stdout);
  assert.match(run.stdout, /^1 near-duplicate pair shared by train\/ and val\/$/m);
  const skipped = await runCli(['verify', root, '--no-progress', '--no-leakage']);
  assert.doesNotMatch(skipped.stdout, /^leak:|near-duplicate/m);
});
