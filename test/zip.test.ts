import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { extractZip, problemWithName, UnsafeZipError } from '../src/io/zip.js';
import { buildZip, type ZipEntrySpec } from './helpers/zip-builder.js';

let scratch: string;
let counter = 0;

before(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-zip-'));
});
after(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

/** A fresh folder holding the zip, with the extraction target beside it (not created). */
async function setUp(entries: ZipEntrySpec[]): Promise<{ zipPath: string; target: string; parent: string }> {
  counter += 1;
  const parent = path.join(scratch, `case${counter}`);
  await fs.mkdir(parent);
  const zipPath = path.join(parent, 'archive.zip');
  await fs.writeFile(zipPath, buildZip(entries));
  return { zipPath, target: path.join(parent, 'out'), parent };
}

async function assertNoLeftovers(parent: string): Promise<void> {
  const names = await fs.readdir(parent);
  assert.deepEqual(names.filter((name) => name.includes('.extracting-')), [], `staging folders left in ${parent}`);
}

const GOOD: ZipEntrySpec[] = [
  { name: 'data/' },
  { name: 'data/Canidae/train/dogs/d1.jpg', data: Buffer.from('dog one'.repeat(50)) },
  { name: 'data/Canidae/train/wolves/w1.jpg', data: Buffer.from('wolf one'), method: 0 },
  { name: 'data/Canidae/val/dogs/' },
  { name: 'data/Canidae/val/dogs/狗.txt', data: Buffer.from('unicode name') },
  { name: 'data/Canidae/empty.txt' },
];

test('extracts folders, stored and deflated files and UTF-8 names', async () => {
  const { zipPath, target, parent } = await setUp(GOOD);
  const result = await extractZip(zipPath, target);
  assert.equal(result.dir, target);
  assert.equal(result.files, 4);
  assert.equal(result.directories, 2);
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/train/dogs/d1.jpg'), 'utf8'), 'dog one'.repeat(50));
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/train/wolves/w1.jpg'), 'utf8'), 'wolf one');
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/val/dogs/狗.txt'), 'utf8'), 'unicode name');
  assert.equal((await fs.stat(path.join(target, 'data/Canidae/empty.txt'))).size, 0);
  await assertNoLeftovers(parent);
});

const SYMLINK = ((0o120777 << 16) >>> 0);
const FIFO = ((0o010644 << 16) >>> 0);

const MALICIOUS: Array<{ what: string; entry: ZipEntrySpec; reason: RegExp }> = [
  { what: 'parent traversal', entry: { name: '../evil.txt', data: Buffer.from('x') }, reason: /'\.\.' component/ },
  { what: 'nested traversal', entry: { name: 'ok/../../evil.txt', data: Buffer.from('x') }, reason: /'\.\.' component/ },
  { what: 'absolute path', entry: { name: '/tmp/tlkit-evil.txt', data: Buffer.from('x') }, reason: /absolute path/ },
  { what: 'drive letter', entry: { name: 'C:/evil.txt', data: Buffer.from('x') }, reason: /drive letter/ },
  { what: 'backslash traversal', entry: { name: 'dir\\..\\..\\evil.txt', data: Buffer.from('x') }, reason: /backslash/ },
  { what: 'windows absolute path', entry: { name: 'C:\\Windows\\evil.txt', data: Buffer.from('x') }, reason: /backslash/ },
  { what: 'symlink', entry: { name: 'data/link', data: Buffer.from('/etc/passwd'), externalAttributes: SYMLINK }, reason: /symbolic link/ },
  { what: 'fifo', entry: { name: 'data/pipe', externalAttributes: FIFO }, reason: /special file/ },
  { what: 'duplicate name', entry: { name: 'data/Canidae/train/dogs/d1.jpg', data: Buffer.from('again') }, reason: /appears twice/ },
];

for (const { what, entry, reason } of MALICIOUS) {
  test(`refuses a zip with a ${what}, naming the entry, and writes nothing`, async () => {
    const { zipPath, target, parent } = await setUp([...GOOD, entry]);
    await assert.rejects(extractZip(zipPath, target), (error: unknown) => {
      assert.ok(error instanceof UnsafeZipError, String(error));
      assert.equal(error.entry, entry.name);
      assert.ok(error.message.includes(JSON.stringify(entry.name)), error.message);
      assert.match(error.message, reason);
      assert.ok(error.message.includes(zipPath), error.message);
      return true;
    });
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
    await assert.rejects(fs.stat(path.join(parent, 'evil.txt')), { code: 'ENOENT' });
    await assertNoLeftovers(parent);
  });
}

test('refuses an entry whose declared size is far beyond its compressed size', async () => {
  const zeros = Buffer.alloc(20 * 1024 * 1024);
  const { zipPath, target, parent } = await setUp([{ name: 'bomb.bin', data: zeros }]);
  assert.ok((await fs.stat(zipPath)).size < 100_000);
  await assert.rejects(extractZip(zipPath, target), (error: unknown) => {
    assert.ok(error instanceof UnsafeZipError);
    assert.equal(error.entry, 'bomb.bin');
    assert.match(error.message, /zip bomb/);
    assert.match(error.message, /20971520 bytes/);
    return true;
  });
  await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  await assertNoLeftovers(parent);
});

test('refuses many small entries that add up far beyond the archive size', async () => {
  const mebibyte = Buffer.alloc(1024 * 1024);
  const compressed = zlib.deflateRawSync(mebibyte);
  const crc32 = zlib.crc32(mebibyte);
  const entries = Array.from({ length: 40 }, (_, index) => ({
    name: `part${index}.bin`,
    compressed,
    uncompressedSize: mebibyte.length,
    crc32,
  }));
  const { zipPath, target, parent } = await setUp(entries);
  await assert.rejects(extractZip(zipPath, target), (error: unknown) => {
    assert.ok(error instanceof UnsafeZipError);
    assert.equal(error.entry, undefined);
    assert.match(error.message, /41943040 bytes in total/);
    assert.match(error.message, /zip bomb/);
    return true;
  });
  await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  await assertNoLeftovers(parent);
});

test('counts inflated bytes, so a header that lies about the size is caught while extracting', async () => {
  const large = Buffer.alloc(5 * 1024 * 1024, 7);
  const { zipPath, target, parent } = await setUp([
    { name: 'fine.txt', data: Buffer.from('fine') },
    { name: 'liar.bin', data: large, uncompressedSize: 1000 },
  ]);
  await assert.rejects(extractZip(zipPath, target), (error: unknown) => {
    assert.ok(error instanceof UnsafeZipError);
    assert.equal(error.entry, 'liar.bin');
    assert.match(error.message, /beyond its declared 1000 bytes/);
    return true;
  });
  await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  await assertNoLeftovers(parent);
});

test('a corrupt entry midway leaves an existing target exactly as it was', async () => {
  const { zipPath, target, parent } = await setUp([
    ...GOOD,
    { name: 'data/Canidae/train/dogs/d2.jpg', data: Buffer.from('second dog'), crc32: 0x12345678 },
  ]);
  await fs.mkdir(target);
  await fs.writeFile(path.join(target, 'old.txt'), 'previous extraction');
  await assert.rejects(extractZip(zipPath, target, { replace: true }), (error: unknown) => {
    assert.ok(error instanceof UnsafeZipError);
    assert.equal(error.entry, 'data/Canidae/train/dogs/d2.jpg');
    assert.match(error.message, /CRC-32 mismatch/);
    return true;
  });
  assert.deepEqual(await fs.readdir(target), ['old.txt']);
  assert.equal(await fs.readFile(path.join(target, 'old.txt'), 'utf8'), 'previous extraction');
  await assertNoLeftovers(parent);
});

test('an existing target is refused without replace and swapped whole with it', async () => {
  const { zipPath, target, parent } = await setUp(GOOD);
  await fs.mkdir(target);
  await fs.writeFile(path.join(target, 'old.txt'), 'previous extraction');
  await assert.rejects(extractZip(zipPath, target), /already exists/);
  assert.deepEqual(await fs.readdir(target), ['old.txt']);

  await extractZip(zipPath, target, { replace: true });
  assert.deepEqual(await fs.readdir(target), ['data']);
  assert.equal(await fs.readFile(path.join(target, 'data/Canidae/train/wolves/w1.jpg'), 'utf8'), 'wolf one');
  await assertNoLeftovers(parent);
});

test('a file that is not a zip gets an error naming it', async () => {
  const file = path.join(scratch, 'not-a-zip.zip');
  await fs.writeFile(file, 'this is plain text, not an archive');
  await assert.rejects(extractZip(file, path.join(scratch, 'never')), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /not a readable zip/);
    return true;
  });
});

test('problemWithName accepts ordinary relative names', () => {
  assert.equal(problemWithName('data/Canidae/train/dogs/a.jpg'), null);
  assert.equal(problemWithName('a..b/c...txt'), null);
  assert.match(problemWithName('') ?? '', /empty/);
  assert.match(problemWithName('a/\0b') ?? '', /NUL/);
});
