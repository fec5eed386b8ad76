import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { download, DownloadError } from '../src/io/download.js';
import { applyMirror, cachePathForUrl, tlkitHome } from '../src/io/cache.js';
import { startTestServer, type TestServer } from './helpers/http-server.js';

const FILE = randomBytes(600_000);
const FILE_SHA = createHash('sha256').update(FILE).digest('hex');
const FAST = { retryDelayMs: 1, progress: false } as const;

let server: TestServer;
let scratch: string;

before(async () => {
  server = await startTestServer();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-download-'));
});
after(async () => {
  await server.close();
  await fs.rm(scratch, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

test('downloads a file, checks its sha256 and leaves no .part behind', async () => {
  server.setRoute('/plain.bin', { body: FILE });
  const dest = path.join(await freshDir('plain'), 'nested', 'plain.bin');
  const result = await download(`${server.origin}/plain.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.equal(result.path, dest);
  assert.equal(result.downloaded, true);
  assert.equal(result.sha256, FILE_SHA);
  assert.equal(result.bytes, FILE.byteLength);
  assert.deepEqual(await fs.readFile(dest), FILE);
  await assert.rejects(fs.stat(`${dest}.part`), { code: 'ENOENT' });
});

test('a connection cut mid-file resumes with a Range request', async () => {
  server.setRoute('/cut.bin', { body: FILE, cutAfterBytes: 250_000, cutFirst: 1 });
  const dest = path.join(await freshDir('cut'), 'cut.bin');
  const result = await download(`${server.origin}/cut.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.deepEqual(await fs.readFile(result.path), FILE);
  const log = server.requestsFor('/cut.bin');
  assert.equal(log.length, 2);
  assert.equal(log[0]?.range, undefined);
  assert.equal(log[1]?.status, 206);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(log[1]?.range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 250_000, `resumed at ${resumedAt}`);
});

test('repeated cuts keep resuming because each attempt makes progress', async () => {
  server.setRoute('/flaky.bin', { body: FILE, cutAfterBytes: 100_000 });
  const dest = path.join(await freshDir('flaky'), 'flaky.bin');
  // Every response is cut after 100 kB, more times than `retries` allows failures in a row.
  await download(`${server.origin}/flaky.bin`, { dest, sha256: FILE_SHA, retries: 1, ...FAST });
  assert.deepEqual(await fs.readFile(dest), FILE);
  assert.ok(server.requestsFor('/flaky.bin').length >= 6);
});

test('a server that stops sending mid-file is given up on and the download resumes', async () => {
  server.setRoute('/stalled.bin', { body: FILE, cutAfterBytes: 200_000, cutFirst: 1, hangAtCut: true });
  const dest = path.join(await freshDir('stalled'), 'stalled.bin');
  await download(`${server.origin}/stalled.bin`, { dest, sha256: FILE_SHA, stallTimeoutMs: 300, ...FAST });
  assert.deepEqual(await fs.readFile(dest), FILE);
  const log = server.requestsFor('/stalled.bin');
  assert.equal(log.length, 2);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(log[1]?.range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 200_000, `resumed at ${resumedAt}`);
});

test('a server that ignores Range sends 200 and the download starts over', async () => {
  server.setRoute('/norange.bin', { body: FILE, cutAfterBytes: 250_000, cutFirst: 1, ignoreRange: true });
  const dest = path.join(await freshDir('norange'), 'norange.bin');
  await download(`${server.origin}/norange.bin`, { dest, sha256: FILE_SHA, ...FAST });
  // Appending the full body to the partial one would have made a longer file with a bad hash.
  assert.deepEqual(await fs.readFile(dest), FILE);
  const log = server.requestsFor('/norange.bin');
  assert.equal(log.length, 2);
  assert.match(log[1]?.range ?? '', /^bytes=\d+-$/);
  assert.equal(log[1]?.status, 200);
});

test('a leftover .part from an earlier run is resumed', async () => {
  server.setRoute('/leftover.bin', { body: FILE });
  const dest = path.join(await freshDir('leftover'), 'leftover.bin');
  await fs.writeFile(`${dest}.part`, FILE.subarray(0, 123_456));
  await download(`${server.origin}/leftover.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.deepEqual(await fs.readFile(dest), FILE);
  assert.deepEqual(server.requestsFor('/leftover.bin').map((r) => r.range), ['bytes=123456-']);
});

test('500s are retried with backoff until the file arrives', async () => {
  server.setRoute('/busy.bin', { body: FILE, failFirst: 2, failStatus: 503 });
  const dest = path.join(await freshDir('busy'), 'busy.bin');
  await download(`${server.origin}/busy.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.deepEqual(await fs.readFile(dest), FILE);
  assert.deepEqual(server.requestsFor('/busy.bin').map((r) => r.status), [503, 503, 200]);
});

test('a persistent 500 gives up after the allowed retries, naming URL and status', async () => {
  server.setRoute('/broken.bin', { body: FILE, status: 500 });
  const url = `${server.origin}/broken.bin`;
  const dest = path.join(await freshDir('broken'), 'broken.bin');
  await assert.rejects(download(url, { dest, retries: 2, ...FAST }), (error: unknown) => {
    assert.ok(error instanceof DownloadError);
    assert.equal(error.status, 500);
    assert.ok(error.message.includes(url), error.message);
    assert.match(error.message, /HTTP 500/);
    assert.match(error.message, /3 attempts/);
    return true;
  });
  assert.equal(server.requestsFor('/broken.bin').length, 3);
  await assert.rejects(fs.stat(dest), { code: 'ENOENT' });
});

test('a 404 fails at once with the URL and status in the message', async () => {
  const url = `${server.origin}/missing.bin`;
  const dest = path.join(await freshDir('missing'), 'missing.bin');
  await assert.rejects(download(url, { dest, retries: 3, ...FAST }), (error: unknown) => {
    assert.ok(error instanceof DownloadError);
    assert.equal(error.status, 404);
    assert.ok(error.message.includes(url) && error.message.includes('HTTP 404'), error.message);
    return true;
  });
  assert.equal(server.requestsFor('/missing.bin').length, 1);
});

test('a refused connection is retried, then reported with the URL', async () => {
  const closed = await startTestServer();
  const url = `${closed.origin}/gone.bin`;
  await closed.close();
  const dest = path.join(await freshDir('refused'), 'gone.bin');
  await assert.rejects(download(url, { dest, retries: 1, ...FAST }), (error: unknown) => {
    assert.ok(error instanceof DownloadError);
    assert.equal(error.status, undefined);
    assert.ok(error.message.includes(url), error.message);
    assert.match(error.message, /2 attempts/);
    return true;
  });
});

test('a sha256 mismatch names both hashes and leaves the existing file untouched', async () => {
  server.setRoute('/tampered.bin', { body: FILE });
  const dest = path.join(await freshDir('tampered'), 'weights.bin');
  const usersFile = Buffer.from('the file the user already had');
  await fs.writeFile(dest, usersFile);
  const wrong = 'ab'.repeat(32);
  await assert.rejects(download(`${server.origin}/tampered.bin`, { dest, sha256: wrong, ...FAST }), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.ok(error.message.includes(`expected ${wrong}`), error.message);
    assert.ok(error.message.includes(`got ${FILE_SHA}`), error.message);
    return true;
  });
  assert.deepEqual(await fs.readFile(dest), usersFile);
  await assert.rejects(fs.stat(`${dest}.part`), { code: 'ENOENT' });
});

test('a file already in place with the right hash is not downloaded again', async () => {
  server.setRoute('/cached.bin', { body: FILE });
  const dest = path.join(await freshDir('cached'), 'cached.bin');
  const first = await download(`${server.origin}/cached.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.equal(first.downloaded, true);
  const second = await download(`${server.origin}/cached.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.equal(second.downloaded, false);
  assert.equal(second.sha256, FILE_SHA);
  assert.equal(server.requestsFor('/cached.bin').length, 1);

  // A stale file with another hash is replaced by a verified download.
  await fs.writeFile(dest, 'stale');
  const third = await download(`${server.origin}/cached.bin`, { dest, sha256: FILE_SHA, ...FAST });
  assert.equal(third.downloaded, true);
  assert.deepEqual(await fs.readFile(dest), FILE);
  assert.equal(server.requestsFor('/cached.bin').length, 2);
});

test('without dest the file goes to the URL-shaped cache path under TLKIT_HOME', async (t) => {
  const home = await freshDir('home');
  const previous = process.env.TLKIT_HOME;
  process.env.TLKIT_HOME = home;
  t.after(() => {
    if (previous === undefined) delete process.env.TLKIT_HOME;
    else process.env.TLKIT_HOME = previous;
  });
  server.setRoute('/models/a/model.bin', { body: FILE });
  const url = `${server.origin}/models/a/model.bin`;
  const result = await download(url, FAST);
  assert.equal(tlkitHome(), home);
  assert.equal(result.path, path.join(home, 'downloads', `127.0.0.1_${server.port}`, 'models', 'a', 'model.bin'));
  assert.deepEqual(await fs.readFile(result.path), FILE);
  const again = await download(url, FAST);
  assert.equal(again.downloaded, false);
  assert.equal(server.requestsFor('/models/a/model.bin').length, 1);
});

test('TLKIT_MIRROR sends the request to the mirror with the original path', async (t) => {
  const previous = process.env.TLKIT_MIRROR;
  process.env.TLKIT_MIRROR = server.origin;
  t.after(() => {
    if (previous === undefined) delete process.env.TLKIT_MIRROR;
    else process.env.TLKIT_MIRROR = previous;
  });
  server.setRoute('/notebook/file.bin', { body: FILE });
  const dest = path.join(await freshDir('mirror'), 'file.bin');
  await download('https://unreachable.invalid/notebook/file.bin', { dest, sha256: FILE_SHA, ...FAST });
  assert.deepEqual(await fs.readFile(dest), FILE);
  assert.equal(server.requestsFor('/notebook/file.bin').length, 1);
});

test('applyMirror and cachePathForUrl keep paths and stay inside the cache', () => {
  assert.equal(
    applyMirror('https://a.example/x/y.zip?v=1', { TLKIT_MIRROR: 'http://127.0.0.1:9/pre/' }),
    'http://127.0.0.1:9/pre/x/y.zip?v=1',
  );
  assert.equal(applyMirror('https://a.example/x', {}), 'https://a.example/x');
  assert.throws(() => applyMirror('https://a.example/x', { TLKIT_MIRROR: 'not a url' }), /TLKIT_MIRROR/);
  const home = path.join(path.sep, 'h');
  assert.equal(
    cachePathForUrl('https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors', home),
    path.join(home, 'downloads', 'huggingface.co', 'timm', 'resnet50.a1_in1k', 'resolve', 'main', 'model.safetensors'),
  );
  const escaped = cachePathForUrl('https://a.example/%2e%2e/%2e%2e/etc/passwd', home);
  assert.ok(escaped.startsWith(path.join(home, 'downloads') + path.sep), escaped);
});

test('an aborted download stops with the abort reason', async () => {
  server.setRoute('/slow.bin', { body: FILE, status: 503 });
  const controller = new AbortController();
  const dest = path.join(await freshDir('abort'), 'slow.bin');
  const pending = download(`${server.origin}/slow.bin`, { dest, retryDelayMs: 60_000, progress: false, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('user pressed ctrl-c')), 50);
  await assert.rejects(pending, /user pressed ctrl-c/);
});

test('a malformed sha256 is refused before any request', async () => {
  await assert.rejects(download(`${server.origin}/plain.bin`, { dest: path.join(scratch, 'x'), sha256: 'xyz' }), /64 hex digits/);
});
