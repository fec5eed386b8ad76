import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatestWrites } from '../src/util/latest-writes.js';

/** A write that records itself and finishes when `release` is called. */
function gatedWrite(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => { release = resolve; });
  return { write: async () => { log.push(`start ${name}`); await done; log.push(`end ${name}`); }, release: () => release() };
}

test('LatestWrites: one write at a time; a waiting write of a target is replaced by a newer one; flush waits for all', async () => {
  const writes = new LatestWrites();
  const log: string[] = [];
  const first = gatedWrite(log, 'last@1');
  writes.queue('last', first.write);
  writes.queue('best', async () => { log.push('best@2'); });
  writes.queue('last', async () => { log.push('last@2 (replaced)'); });
  writes.queue('last', async () => { log.push('last@3'); });
  assert.deepEqual(log, ['start last@1'], 'the first write runs at once; the others wait behind it');
  let flushed = false;
  const flush = writes.flush().then(() => { flushed = true; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(flushed, false, 'flush waits for the running write');
  first.release();
  await flush;
  assert.deepEqual(log, ['start last@1', 'end last@1', 'best@2', 'last@3']);
  writes.queue('last', async () => { log.push('last@4'); });
  await writes.flush();
  assert.equal(log.at(-1), 'last@4', 'a queue after a flush runs again');
});

test('LatestWrites: a failed write is thrown by the next queue or flush, once, and drops the writes waiting behind it', async () => {
  const writes = new LatestWrites();
  const log: string[] = [];
  writes.queue('best', async () => { throw new Error('ENOSPC: best.ckpt'); });
  writes.queue('last', async () => { log.push('last'); });
  await assert.rejects(writes.flush(), /ENOSPC: best\.ckpt/);
  assert.deepEqual(log, [], 'the write behind the failed one did not run');
  await writes.flush();
  writes.queue('best', async () => { throw new Error('EIO'); });
  await new Promise((resolve) => setImmediate(resolve));
  assert.throws(() => writes.queue('last', async () => undefined), /EIO/);
});
