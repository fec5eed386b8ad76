/** The loader prepares the next batches while the consumer works on the current one (overlap with ORT). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dataset, Sample } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';

/** Eight 1x2x2 examples; records which it was asked for, each taking a few milliseconds "to decode". */
class SlowDataset implements Dataset {
  readonly length = 8;
  readonly classNames = ['a', 'b'];
  readonly requested: number[] = [];
  labelAt(index: number): number {
    return index % 2;
  }
  async get(index: number): Promise<Sample> {
    this.requested.push(index);
    await sleep(5);
    return { image: new Float32Array(4).fill(index), shape: [1, 2, 2], label: index % 2 };
  }
}

for (const [prefetch, ahead] of [[1, 2], [0, 1]] as const) {
  test(`prefetch ${prefetch}: while the consumer holds batch k, the loader decodes batches k+1..k+${ahead}, and no further`, async () => {
    const dataset = new SlowDataset();
    const loader = new DataLoader(dataset, { batchSize: 2, prefetch });
    let step = 0;
    for await (const batch of loader) {
      assert.deepEqual(Array.from(batch.indices), [2 * step, 2 * step + 1]);
      // The consumer's turn (ORT running the batch): the loader works meanwhile.
      await sleep(40);
      const last = Math.min(step + ahead, loader.steps - 1);
      assert.deepEqual([...dataset.requested].sort((a, b) => a - b), Array.from({ length: 2 * (last + 1) }, (_, i) => i), `step ${step}`);
      step++;
    }
    assert.equal(step, 4);
  });
}
