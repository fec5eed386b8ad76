import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REPORT_SECTIONS } from '../src/report/html.js';
import { writeRunRecord } from '../src/report/run-record.js';
import { writeSyntheticRun } from '../src/report/synthetic-run.js';
import { mistakeTitle, renderReportHtml, writeReport } from '../src/report/write-report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-report-'));
}

test('the report is one self-contained page with every section', async () => {
  const runDir = await tempDir();
  await writeSyntheticRun(runDir, { epochs: 4, evaluationSize: 60, storedImages: 20 });
  const out = await writeReport(runDir);
  assert.equal(out, path.join(runDir, 'report.html'));
  const html = await fs.readFile(out, 'utf8');

  assert.doesNotMatch(html, /https?:\/\//i, 'the report must not name any http(s) URL');
  assert.doesNotMatch(html, /<link\b|<script\b|@import|url\(/i, 'no external stylesheets, scripts or CSS urls');
  for (const src of html.matchAll(/\b(?:src|href)="([^"#][^"]*)"/g)) {
    assert.ok(src[1]!.startsWith('data:image/png;base64,'), `only inline images allowed, found ${src[1]!.slice(0, 40)}`);
  }
  for (const id of REPORT_SECTIONS) {
    const match = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
    assert.ok(match, `section ${id} is missing`);
    assert.doesNotMatch(match[1]!, /class="missing"/, `section ${id} has no content`);
  }
  // Curves, confusion matrix and per-class bars are inline SVG; preview, predictions, mistakes are PNGs.
  assert.equal(html.match(/<svg /g)?.length, 3);
  assert.equal(html.match(/<img /g)?.length, 3);
  // The synthetic comparison has one method below the from-scratch baseline.
  assert.equal(html.match(/<tr class="below">/g)?.length, 1);
  assert.match(html, /<tr class="best">.*fine-tune all layers/);
  assert.match(html, /T-shirt\/top/);
});

test('a run without evaluation or comparison still renders, saying what is missing', async () => {
  const runDir = await tempDir();
  await writeRunRecord(runDir, {
    config: {},
    classNames: ['dogs', 'wolves'],
    history: [{ epoch: 1, trainLoss: 0.69, valAccuracy: 0.5, epochMs: 100, stepMs: 2 }],
  });
  const html = await renderReportHtml(runDir);
  assert.match(html, /<section id="comparison">.*This run has no comparison table/);
  assert.match(html, /<section id="confusion">.*recorded no evaluation/);
  assert.equal(html.match(/<svg /g)?.length, 1);
});

test('mistake titles read "true / predicted (p=…)" and wrap only when long', () => {
  assert.equal(mistakeTitle('Shirt', 'Coat', 0.971), 'Shirt / Coat (p=0.97)');
  assert.equal(mistakeTitle('T-shirt/top', 'Ankle boot', 0.5), 'T-shirt/top / Ankle boot\n(p=0.50)');
});

test('tlkit report writes the file named by --out and fails clearly on a bad run dir', async () => {
  const runDir = await tempDir();
  await writeSyntheticRun(runDir, { epochs: 2, evaluationSize: 20, storedImages: 8 });
  const out = path.join(runDir, 'nested', 'r.html');
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin', 'tlkit.js'), 'report', runDir, '--out', out]);
  assert.equal(stdout.trim(), out);
  assert.match(await fs.readFile(out, 'utf8'), /<section id="mistakes">/);

  const empty = await tempDir();
  await assert.rejects(run(process.execPath, [path.join(repoRoot, 'bin', 'tlkit.js'), 'report', empty]), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /run\.json: not found/);
    return true;
  });
});
