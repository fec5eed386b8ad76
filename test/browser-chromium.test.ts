import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as node from '../src/index.js';
import { startWebServer, type WebServer } from '../src/web/server.js';
import { buildBrowserBundle } from './helpers/browser-bundle.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (install Debian's chromium package; .ci/run does)`;

function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page on the server that records console errors and refuses (and records) any request off 127.0.0.1:<port>. */
async function openPage(browser: Browser, server: WebServer): Promise<{ page: Page; errors: string[]; offsite: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  const offsite: string[] = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-state=ready]', { timeout: 120_000 });
  return { page, errors, offsite };
}

/** 16 shipped Fashion-MNIST images, normalized as the pipeline does, with labels folded into 5 classes. */
async function fashionBatch(): Promise<{ images: number[]; labels: number[] }> {
  const dataset = await node.loadFashionMnist({ split: 'test' });
  const images: number[] = [];
  const labels: number[] = [];
  for (let k = 0; k < 16; k++) {
    const sample = await dataset.get(k * 37);
    for (const v of sample.image) images.push((v - 72.94) / 90.02);
    labels.push(sample.label % 5);
  }
  return { images, labels };
}

/**
 * Three steps of the demo's ResNet-18 (tlkit pipeline's model) in full fine-tuning: BN in training
 * mode at lr 0.005, and BN frozen at 0.01. (BN in training mode at 0.05 on one
 * repeated batch amplifies rounding: in Node alone a 1e-7 relative change of the weights moves the
 * third loss by 5e-5, and wasm and native kernels round differently, so that case is not compared.)
 */
const CASES = [{ bnTraining: true, lr: 0.005 }, { bnTraining: false, lr: 0.01 }];

async function threeSteps(t: typeof node, images: Float32Array, labels: number[], bnTraining: boolean, lr: number): Promise<number[]> {
  const net = t.pipelineNet(t.PIPELINE_MODEL, 5, 1, 1);
  if (!bnTraining) net.eval();
  const step = await t.TrainStep.create(net, { inputShape: [1, 28, 28], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining, session: { threads: 1 } });
  const losses: number[] = [];
  try {
    for (let k = 0; k < 3; k++) losses.push((await step.step(images, labels, lr)).loss);
  } finally {
    await step.release();
  }
  return losses;
}

test('in Chromium, from 127.0.0.1 only: tlkit/browser trains the demo ResNet-18 with the losses of the Node entry', { skip, timeout: 300_000 }, async () => {
  buildBrowserBundle();
  const server = await startWebServer();
  const browser = await launchChromium();
  try {
    const { page, errors, offsite } = await openPage(browser, server);
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'the page is cross-origin isolated (COOP/COEP)');
    const batch = await fashionBatch();
    for (const { bnTraining, lr } of CASES) {
      const fromPage = await page.evaluate(async ({ images, labels, bnTraining, lr }) => {
        const t = (await import('/tlkit.mjs' as string)) as typeof import('../src/browser/index.js');
        const net = t.pipelineNet(t.PIPELINE_MODEL, 5, 1, 1);
        if (!bnTraining) net.eval();
        const step = await t.TrainStep.create(net, { inputShape: [1, 28, 28], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining, session: { threads: 1 } });
        const losses: number[] = [];
        for (let k = 0; k < 3; k++) losses.push((await step.step(Float32Array.from(images), labels, lr)).loss);
        await step.release();
        return losses;
      }, { ...batch, bnTraining, lr });
      const fromNode = await threeSteps(node, Float32Array.from(batch.images), batch.labels, bnTraining, lr);
      assert.equal(fromPage.length, 3);
      // The first step's loss is the same graph on the same weights: equal to float rounding. Later ones follow
      // weights updated by two engines' kernels (wasm vs MLAS), whose rounding the steps amplify: with the polar
      // init, BN training, lr 0.005, step 2 differed by 2e-7 and step 3 by 6e-5 (relative), with the standard
      // convolutions on both sides. A wrong update is far outside 1e-3: on Node, lr 0.0055 for 0.005 moved step 2
      // by 8e-3 and step 3 by 2e-2, momentum 0.85 for 0.9 moved step 3 by 3e-3 (measured 2026-12-01).
      fromPage.forEach((loss, k) => {
        const tolerance = k === 0 ? 1e-5 : 1e-3;
        assert.ok(Math.abs(loss - fromNode[k]!) <= tolerance * Math.abs(fromNode[k]!), `BN training ${bnTraining}, lr ${lr}, step ${k + 1}: Chromium ${loss} vs onnxruntime-node ${fromNode[k]}`);
      });
      assert.ok(fromPage[2]! < fromPage[0]!, `the loss falls over three steps on one batch: ${fromPage.join(', ')}`);
      console.log(`three steps (BN training ${bnTraining}, lr ${lr}): Chromium ${fromPage.join(', ')}; Node ${fromNode.join(', ')}`);
    }
    assert.deepEqual(offsite, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'console errors');
  } finally {
    await browser.close();
    await server.close();
  }
});

test('tlkit web: fixed features on the shipped target task in the page give tlkit pipeline\'s fixed-feature accuracy; screenshot, downloads tlkit reads', { skip, timeout: 900_000 }, async () => {
  buildBrowserBundle();
  const out = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-web-'));
  // The pipeline at its smallest (every step one epoch): its source checkpoint and its fixed-feature row.
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, [path.join(process.cwd(), 'bin', 'tlkit.js'), 'pipeline', '--epoch-scale', '0.02', '--out', out], { stdio: 'pipe', env: { ...process.env, TLKIT_THREADS: '2' } });
  const results = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8')) as { target: Array<{ method: string; accuracy: number }> };
  const pipelineFixed = results.target.find((r) => r.method === 'fixed-feature')!.accuracy;

  const server = await startWebServer({ sourceCheckpoint: path.join(out, 'checkpoints', 'source-best.ckpt') });
  const browser = await launchChromium();
  try {
    const { page, errors, offsite } = await openPage(browser, server);
    await page.fill('#epochs', '1');
    await page.click('#train');
    await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 600_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', await page.locator('#log').innerText());
    const accuracy = Number(await page.getAttribute('body', 'data-accuracy'));
    console.log(`fixed-feature accuracy: page ${accuracy}, tlkit pipeline ${pipelineFixed}`);
    assert.ok(Math.abs(accuracy - pipelineFixed) <= 0.01, `page ${accuracy} vs pipeline ${pipelineFixed}`);
    assert.equal(await page.locator('#grid canvas').count(), 64, 'prediction grid');
    assert.ok(await page.locator('#grid canvas.right').count() > 0 && await page.locator('#chart polyline').count() === 2);

    // Downloads: the checkpoint evaluates with tlkit eval's reader, the ONNX model runs in onnxruntime-node.
    const [ckpt] = await Promise.all([page.waitForEvent('download'), page.click('#download-ckpt')]);
    const ckptPath = path.join(out, 'page.ckpt');
    await ckpt.saveAs(ckptPath);
    const loaded = await node.loadModel('resnet18', { weights: ckptPath, inChannels: 1, width: 16, smallInput: true });
    assert.equal(loaded.report?.missing.length, 0);
    const [onnx] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
    const onnxPath = path.join(out, 'page.onnx');
    await onnx.saveAs(onnxPath);
    const session = await node.Session.create(await fs.readFile(onnxPath), { threads: 1 });
    const logits = await session.run({ input: { data: new Float32Array(2 * 28 * 28), shape: [2, 1, 28, 28] } });
    assert.deepEqual([...Object.values(logits)[0]!.dims], [2, 5]);
    await session.release();

    const screenshot = path.join(out, 'web-screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok((await fs.stat(screenshot)).size > 20_000, 'screenshot is not empty');
    console.log(`tlkit web screenshot: ${screenshot}`);
    assert.deepEqual(offsite, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('served without cross-origin isolation, the page says it runs on one thread', { skip, timeout: 120_000 }, async () => {
  const server = await startWebServer({ isolated: false });
  const browser = await launchChromium();
  try {
    const { page, errors } = await openPage(browser, server);
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), false);
    assert.match(await page.locator('#status').innerText(), /single thread: this page is not cross-origin isolated/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
