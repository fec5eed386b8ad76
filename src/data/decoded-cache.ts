import type { RawPixels } from './sharp-stages.js';

/**
 * Decoded images kept in memory by one loader (or shared by the loaders of a run), so epochs after the first
 * resample pixels instead of decoding JPEGs again. On ~500x375 web photos sharp's decode alone costs as much
 * CPU as torchvision's whole per-image transform (bench/loader-cost.ts); the training call on cached pixels
 * took 0.97 ms instead of 2.67 ms from the JPEG bytes (paired, loaded 2-core EPYC, 2026-12-01), bit-identical.
 * The loader on 200 web JPEGs (train transforms at 224, batch 18, concurrency 8, rough: nice 15, shared 2-core
 * EPYC, load 2.4-2.6, 4 alternating pairs): epochs after the first 1.54-1.99 CPU ms per image instead of
 * 3.41-4.32; the first epoch costs 0.6-0.9 ms more (4.30-5.16 vs 3.66-4.30: a whole decode, then a sharp call on
 * the raw pixels), so two epochs already gain. node dist/bench/loader.js: 889-908 img/s vs 360-479 before.
 *
 * Policy: fill until `budgetBytes` is spent, then keep what is there. An epoch visits every image once in a
 * random order, so an LRU smaller than the dataset would evict each image just before its next use.
 * Entries are keyed by the caller (the Node backend uses path, size and mtime, so an edited file is decoded
 * again); the backend decides what is worth caching (full-size decodes only).
 */
export class DecodedCache {
  private readonly entries = new Map<string, { version: string; pixels: RawPixels }>();
  private used = 0;
  /** Lookups that found pixels, and lookups that did not (counted where the backend would cache). */
  hits = 0;
  misses = 0;

  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes >= 0) || !Number.isFinite(budgetBytes)) throw new Error(`decoded-image cache: the budget must be a finite number of bytes >= 0, got ${budgetBytes}`);
  }

  /** Bytes of pixels held. */
  get usedBytes(): number {
    return this.used;
  }

  /** Images held. */
  get size(): number {
    return this.entries.size;
  }

  /** The pixels stored under `key` at `version`; a stale version is dropped (its bytes freed). */
  get(key: string, version: string): RawPixels | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.version === version) {
      this.hits++;
      return entry.pixels;
    }
    if (entry) this.remove(key);
    this.misses++;
    return undefined;
  }

  /**
   * False, counted as a miss, when nothing is held under `key` and `bytes` no longer fit: the caller can skip
   * looking up the version (a stat) for an image that would be neither found nor stored.
   */
  mayHold(key: string, bytes: number): boolean {
    if (this.entries.has(key) || this.fits(bytes)) return true;
    this.misses++;
    return false;
  }

  /** True when `bytes` more would still fit the budget. */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.budgetBytes;
  }

  /** Stores the pixels if they fit; false when the budget is full. The caller must not change them afterwards. */
  set(key: string, version: string, pixels: RawPixels): boolean {
    this.remove(key);
    if (!this.fits(pixels.data.byteLength)) return false;
    this.entries.set(key, { version, pixels });
    this.used += pixels.data.byteLength;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.used -= entry.pixels.data.byteLength;
  }
}
