import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractZip, UnsafeZipError } from '../src/io/zip.js';

// Archives made by Info-ZIP zip 3.0; see fixtures/zip/README.md.
const fixtures = fileURLToPath(new URL('../../fixtures/zip/', import.meta.url));

test('extracts an archive written by Info-ZIP zip', async (t) => {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-zip-real-'));
  t.after(() => fs.rm(scratch, { recursive: true, force: true }));
  const target = path.join(scratch, 'datasets-Canidae');
  const result = await extractZip(path.join(fixtures, 'plain.zip'), target);
  assert.equal(result.files, 2);
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/train/dogs/a.jpg'), 'utf8'), 'dog');
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/val/wolves/b.jpg'), 'utf8'), 'wolf'.repeat(200));
});

test('refuses the symlink that Info-ZIP stored with -y, naming it', async (t) => {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-zip-real-'));
  t.after(() => fs.rm(scratch, { recursive: true, force: true }));
  const target = path.join(scratch, 'datasets-Canidae');
  await assert.rejects(extractZip(path.join(fixtures, 'with-symlink.zip'), target), (error: unknown) => {
    assert.ok(error instanceof UnsafeZipError);
    assert.equal(error.entry, 'data/Canidae/link');
    assert.match(error.message, /symbolic link/);
    return true;
  });
  assert.deepEqual(await fs.readdir(scratch), []);
});
