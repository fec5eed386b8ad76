import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { get } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDashboard } from '../src/report/dashboard.js';
import { readRunRecord, writeRunRecord } from '../src/report/run-record.js';
import { writeSyntheticRun } from '../src/report/synthetic-run.js';

/** Resolves with the first `update` event on the stream. */
function nextUpdate(url: string): { connected: Promise<void>; update: Promise<string>; stop: () => void } {
  let stop = (): void => {};
  let connected!: () => void;
  const connectedPromise = new Promise<void>((resolve) => (connected = resolve));
  const update = new Promise<string>((resolve, reject) => {
    const request = get(url, (response) => {
      assert.equal(response.headers['content-type'], 'text/event-stream');
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        if (buffer.includes('retry:')) connected();
        const match = /event: update\ndata: (\d+)\n\n/.exec(buffer);
        if (match) resolve(match[1]!);
      });
    });
    request.on('error', reject);
    stop = () => request.destroy();
  });
  return { connected: connectedPromise, update, stop };
}

test('the dashboard serves the live report on 127.0.0.1 and pushes an update when run.json changes', { timeout: 30_000 }, async () => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-dashboard-'));
  await writeSyntheticRun(runDir, { epochs: 3, evaluationSize: 30, storedImages: 10 });
  const dashboard = await startDashboard(runDir);
  try {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const first = await (await fetch(dashboard.url)).text();
    assert.match(first, /3 epochs/);
    assert.match(first, /new EventSource\('events'\)/);
    assert.match(first, /badge live/);

    const stream = nextUpdate(`${dashboard.url}events`);
    await stream.connected;
    const record = await readRunRecord(runDir);
    record.history.push({ ...record.history[2]!, epoch: 4, valAccuracy: 0.9 });
    await writeRunRecord(runDir, record);
    assert.match(await stream.update, /^\d+$/);
    stream.stop();

    const second = await (await fetch(dashboard.url)).text();
    assert.match(second, /4 epochs/);
    assert.equal((await fetch(`${dashboard.url}nope`)).status, 404);
  } finally {
    await dashboard.close();
  }
});

test('before run.json exists the dashboard says it is waiting', async () => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-dashboard-empty-'));
  const dashboard = await startDashboard(runDir);
  try {
    const page = await (await fetch(dashboard.url)).text();
    assert.match(page, /Waiting for the run/);
    assert.match(page, /run\.json: not found/);
  } finally {
    await dashboard.close();
  }
});
