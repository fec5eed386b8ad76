import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillNormal, mulberry32 } from '../src/util/random.js';

test('fillNormal draws N(mean, std): moments, the one-sigma mass and the tails, every value set', () => {
  const values = fillNormal(new Float32Array(200_001).fill(Number.NaN), mulberry32(7), 3, 2);
  assert.ok(values.every(Number.isFinite), 'an odd length still fills the last value');
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const within = (k: number) => values.filter((v) => Math.abs(v - 3) < 2 * k).length / n;
  assert.ok(Math.abs(mean - 3) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(variance) - 2) < 0.02, `std ${Math.sqrt(variance)}`);
  // A uniform or a folded draw with the same moments fails these (0.577 / 0.683 differ by far more).
  assert.ok(Math.abs(within(1) - 0.6827) < 0.005, `within 1 sigma: ${within(1)}`);
  assert.ok(Math.abs(within(2) - 0.9545) < 0.003, `within 2 sigma: ${within(2)}`);
  assert.ok(values.some((v) => v < 3 - 8) && values.some((v) => v > 3 + 8), 'both tails past 4 sigma');
  // Pairs are independent: neighbours (one pair) and values two apart (two pairs) are uncorrelated.
  const correlation = (lag: number) => {
    let s = 0;
    for (let i = 0; i + lag < n; i += 2) s += (values[i]! - 3) * (values[i + lag]! - 3);
    return s / (n / 2) / 4;
  };
  assert.ok(Math.abs(correlation(1)) < 0.01 && Math.abs(correlation(2)) < 0.01, `correlations ${correlation(1)}, ${correlation(2)}`);
});

test('fillNormal is replayed exactly from its seed', () => {
  const a = fillNormal(new Float32Array(1001), mulberry32(42), 0, 1);
  const b = fillNormal(new Float32Array(1001), mulberry32(42), 0, 1);
  const c = fillNormal(new Float32Array(1001), mulberry32(43), 0, 1);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
