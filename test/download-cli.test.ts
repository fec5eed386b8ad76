import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './helpers/http-server.js';
import { buildZip } from './helpers/zip-builder.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(repoRoot, 'bin', 'tlkit.js');

const CANIDAE_ZIP = buildZip([
  { name: 'data/' },
  { name: 'data/Canidae/' },
  { name: 'data/Canidae/train/dogs/dog_001.jpg', data: randomBytes(2000) },
  { name: 'data/Canidae/train/dogs/dog_002.jpg', data: randomBytes(2000) },
  { name: 'data/Canidae/train/wolves/wolf_001.jpg', data: randomBytes(2000) },
  { name: 'data/Canidae/val/dogs/dog_101.jpg', data: randomBytes(2000) },
  { name: 'data/Canidae/val/wolves/wolf_101.jpg', data: randomBytes(2000) },
]);
const CKPT = randomBytes(300_000);
const CKPT_SHA = createHash('sha256').update(CKPT).digest('hex');
const CKPT_PATH = '/notebook/models/application/resnet50_224_new.ckpt';

let server: TestServer;
let scratch: string;

before(async () => {
  server = await startTestServer({
    '/Canidae_data.zip': { body: CANIDAE_ZIP, cutAfterBytes: 4000, cutFirst: 1 },
    [CKPT_PATH]: { body: CKPT },
  });
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-download-cli-'));
});
after(async () => {
  await server.close();
  await fs.rm(scratch, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function tlkit(args: string[], env: Record<string, string>): Promise<CliResult> {
  // Async on purpose: the test server lives in this process and must keep answering while the CLI runs.
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: scratch,
      env: { ...process.env, TLKIT_MIRROR: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

test('tlkit download canidae --url --dir fetches, resumes and extracts like the tutorial', async () => {
  const home = path.join(scratch, 'home1');
  const parent = path.join(scratch, 'work1');
  const url = `${server.origin}/Canidae_data.zip`;
  const first = await tlkit(['download', 'canidae', '--url', url, '--dir', parent], { TLKIT_HOME: home });
  assert.equal(first.code, 0, first.stderr);
  const datasetDir = path.join(parent, 'datasets-Canidae');
  assert.equal(first.stdout.trim(), datasetDir);
  for (const file of ['train/dogs/dog_001.jpg', 'train/dogs/dog_002.jpg', 'train/wolves/wolf_001.jpg', 'val/dogs/dog_101.jpg', 'val/wolves/wolf_101.jpg']) {
    assert.equal((await fs.stat(path.join(datasetDir, 'data/Canidae', file))).size, 2000, file);
  }
  // The first response was cut after 4000 bytes; the CLI resumed it with a Range request.
  assert.deepEqual(server.requestsFor('/Canidae_data.zip').map((request) => request.status), [200, 206]);
  assert.equal(first.stderr, '', 'no progress bar when stderr is not a terminal');

  // A second run re-extracts (replace=True) from the cached archive without touching the network.
  await fs.writeFile(path.join(datasetDir, 'stray.txt'), 'left by the user');
  const second = await tlkit(['download', 'canidae', '--url', url, '--dir', parent], { TLKIT_HOME: home });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(server.requestsFor('/Canidae_data.zip').length, 2);
  assert.deepEqual(await fs.readdir(datasetDir), ['data']);
  assert.deepEqual((await fs.readdir(parent)).sort(), ['datasets-Canidae']);
});

test('tlkit download resnet50-mindspore --dir puts the checkpoint where the tutorial does', async () => {
  const home = path.join(scratch, 'home2');
  const url = `${server.origin}${CKPT_PATH}`;
  const result = await tlkit(
    ['download', 'resnet50-mindspore', '--url', url, '--dir', 'LoadPretrainedModel', '--sha256', CKPT_SHA, '--progress'],
    { TLKIT_HOME: home },
  );
  assert.equal(result.code, 0, result.stderr);
  const expected = path.join(scratch, 'LoadPretrainedModel', 'resnet50_224_new.ckpt');
  assert.equal(result.stdout.trim(), expected);
  assert.deepEqual(await fs.readFile(expected), CKPT);
  assert.match(result.stderr, /resnet50_224_new\.ckpt \[.*\] 100%/);
});

test('with TLKIT_MIRROR and no --dir the weights land in the cache under the original URL', async () => {
  const home = path.join(scratch, 'home3');
  const before = server.requestsFor(CKPT_PATH).length;
  const result = await tlkit(['download', 'resnet50-mindspore'], { TLKIT_HOME: home, TLKIT_MIRROR: server.origin });
  assert.equal(result.code, 0, result.stderr);
  const expected = path.join(home, 'downloads', 'mindspore-website.obs.cn-north-4.myhuaweicloud.com', 'notebook', 'models', 'application', 'resnet50_224_new.ckpt');
  assert.equal(result.stdout.trim(), expected);
  assert.deepEqual(await fs.readFile(expected), CKPT);
  assert.equal(server.requestsFor(CKPT_PATH).length, before + 1);
});

test('a wrong --sha256 fails with both hashes and exit code 1', async () => {
  const wrong = '0'.repeat(64);
  const result = await tlkit(
    ['download', 'resnet50-mindspore', '--url', `${server.origin}${CKPT_PATH}`, '--dir', 'mismatch', '--sha256', wrong],
    { TLKIT_HOME: path.join(scratch, 'home4') },
  );
  assert.equal(result.code, 1);
  assert.ok(result.stderr.includes(`expected ${wrong}`) && result.stderr.includes(`got ${CKPT_SHA}`), result.stderr);
  await assert.rejects(fs.stat(path.join(scratch, 'mismatch', 'resnet50_224_new.ckpt')), { code: 'ENOENT' });
});

test('an unknown name lists the known ones; --list prints them', async () => {
  const unknown = await tlkit(['download', 'imagenet'], { TLKIT_HOME: path.join(scratch, 'home5') });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown name "imagenet"; known: canidae, resnet50-mindspore, resnet18-torchvision/);
  const listed = await tlkit(['download', '--list'], {});
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /canidae/);
  assert.match(listed.stdout, /resnet50-timm\s+safetensors/);
});

test('a 404 from the mirror is reported with URL and status', async () => {
  const url = `${server.origin}/nothing-here.zip`;
  const result = await tlkit(['download', 'canidae', '--url', url, '--dir', 'nowhere'], { TLKIT_HOME: path.join(scratch, 'home6') });
  assert.equal(result.code, 1);
  assert.ok(result.stderr.includes(`${url} failed: HTTP 404`), result.stderr);
  await assert.rejects(fs.stat(path.join(scratch, 'nowhere', 'datasets-Canidae')), { code: 'ENOENT' });
});
