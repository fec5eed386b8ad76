import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { startDashboard } from '../src/report/dashboard.js';
import { readRunRecord, writeRunRecord } from '../src/report/run-record.js';
import { writeSyntheticRun } from '../src/report/synthetic-run.js';
import { writeReport } from '../src/report/write-report.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (install Debian's chromium package; .ci/run does)`;

test('the report renders in chromium: every chart and image visible, no errors, no requests', { skip, timeout: 120_000 }, async () => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-report-browser-'));
  await writeSyntheticRun(runDir);
  const reportPath = await writeReport(runDir);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    const networkRequests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('requestfailed', (request) => failedRequests.push(`${request.url().slice(0, 80)}: ${request.failure()?.errorText}`));
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith('data:') && url !== pathToFileURL(reportPath).href) networkRequests.push(url);
    });

    await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });

    const sizes = await page.evaluate(() => {
      const charts = [...document.querySelectorAll('main svg')].map((svg) => {
        const box = svg.getBoundingClientRect();
        return { what: svg.getAttribute('aria-label') ?? 'svg', width: box.width, height: box.height, texts: svg.querySelectorAll('text').length };
      });
      const images = [...document.querySelectorAll('main img')].map((img) => {
        const image = img as HTMLImageElement;
        const box = image.getBoundingClientRect();
        return { what: image.alt, width: box.width, height: box.height, naturalWidth: image.naturalWidth, complete: image.complete };
      });
      return { charts, images, sections: document.querySelectorAll('main section').length };
    });
    assert.equal(sizes.charts.length, 3, 'curves, confusion matrix and per-class chart');
    for (const chart of sizes.charts) {
      assert.ok(chart.width > 100 && chart.height > 100, `${chart.what} rendered at ${chart.width}x${chart.height}`);
      assert.ok(chart.texts > 5, `${chart.what} has labels`);
    }
    assert.equal(sizes.images.length, 3, 'preview, predictions and mistakes grids');
    for (const image of sizes.images) {
      assert.ok(image.complete && image.naturalWidth > 0, `${image.what} did not decode`);
      assert.ok(image.width > 100 && image.height > 100, `${image.what} rendered at ${image.width}x${image.height}`);
    }
    assert.equal(sizes.sections, 9);
    assert.deepEqual(consoleErrors, [], 'console errors');
    assert.deepEqual(failedRequests, [], 'failed requests');
    assert.deepEqual(networkRequests, [], 'the page must not fetch anything');

    const screenshot = path.join(runDir, 'report-screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok((await fs.stat(screenshot)).size > 10_000);
    console.log(`report screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});

test('the live dashboard page reloads itself when the run gets a new epoch', { skip, timeout: 120_000 }, async () => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-dashboard-browser-'));
  await writeSyntheticRun(runDir, { epochs: 2, evaluationSize: 30, storedImages: 10 });
  const dashboard = await startDashboard(runDir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(dashboard.url, { waitUntil: 'load' });
    assert.match(await page.locator('header .meta').innerText(), /2 epochs/);
    assert.equal(await page.locator('.badge.live').count(), 1);
    // Wait until the page's EventSource is connected before changing the run.
    await page.waitForSelector('html[data-live=connected]', { state: 'attached' });

    const reloaded = page.waitForEvent('load');
    const record = await readRunRecord(runDir);
    record.history.push({ ...record.history[1]!, epoch: 3 });
    await writeRunRecord(runDir, record);
    await reloaded;
    assert.match(await page.locator('header .meta').innerText(), /3 epochs/);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
    await dashboard.close();
  }
});

function launchChromium() {
  // playwright gives every launch a fresh temporary profile, so no --user-data-dir is needed.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
