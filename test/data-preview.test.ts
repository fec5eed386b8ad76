import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { writePreview } from '../src/cli/preview.js';
import { renderImageGrid } from '../src/report/grid.js';

test('preview writes a 2x2 grid PNG of training images from <dir>/train', async () => {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-preview-'));
  try {
    for (const [name, colour] of [['dogs', '#c08040'], ['wolves', '#808080']] as const) {
      await fs.mkdir(path.join(root, 'train', name), { recursive: true });
      for (let i = 0; i < 3; i++) {
        await sharp({ create: { width: 60 + i, height: 45, channels: 3, background: colour } }).jpeg().toFile(path.join(root, 'train', name, `${i}.jpg`));
      }
    }
    const out = path.join(root, 'preview.png');
    await writePreview(root, { out, count: 4, seed: 1, size: 32 });
    const written = await sharp(out).metadata();
    assert.equal(written.format, 'png');
    // Same layout as the grid renderer draws for 2x2 images with one-line titles.
    const blank = new Float32Array(3 * 32 * 32);
    const expected = await sharp(
      await renderImageGrid({ images: [blank, blank, blank, blank], shape: [3, 32, 32], mean: [0], std: [1], titles: ['dogs', 'dogs', 'dogs', 'dogs'], rows: 2, cols: 2 }),
    ).metadata();
    assert.deepEqual([written.width, written.height], [expected.width, expected.height]);
    const single = path.join(root, 'one.png');
    await writePreview(path.join(root, 'train'), { out: single, count: 1, size: 32 });
    const one = await sharp(single).metadata();
    assert.ok(one.width! < written.width! && one.height! < written.height!);
    await assert.rejects(writePreview(path.join(root, 'nope'), { out }), /data directory .*nope does not exist/);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
