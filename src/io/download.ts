import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { applyMirror, cachePathForUrl } from './cache.js';

export interface DownloadOptions {
  /** Final path of the file; default: the cache path for the URL under $TLKIT_HOME. */
  dest?: string;
  /** Expected SHA-256 (hex). Checked before the file is moved into place. */
  sha256?: string | null;
  /** Attempts allowed after a failure that made no progress (connection errors, 5xx, 429). Default 5. */
  retries?: number;
  /** First backoff delay; each further failure doubles it (capped at 30 s). Default 1000 ms. */
  retryDelayMs?: number;
  /** Give up on a connection that sends nothing for this long and retry. Default 60 s. */
  stallTimeoutMs?: number;
  /** Progress bar on stderr; default: only when stderr is a terminal. True also prints to pipes and logs. */
  progress?: boolean;
  /** Download again even if the destination already holds a (matching) file. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** False when the file was already in place and nothing was fetched. */
  downloaded: boolean;
}

/** An HTTP answer that is not the file; `status` is absent for connection-level failures. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const MAX_BACKOFF_MS = 30_000;

export async function download(url: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const dest = path.resolve(options.dest ?? cachePathForUrl(url));
  const expected = normaliseSha256(options.sha256, url);
  const fetchUrl = applyMirror(url);

  if (!options.force) {
    const existing = await reuseExisting(dest, expected);
    if (existing) return existing;
  }

  await fs.mkdir(path.dirname(dest), { recursive: true });
  const partPath = `${dest}.part`;
  await fetchWithRetries(fetchUrl, partPath, options);

  const actual = await sha256File(partPath);
  if (expected !== null && actual !== expected) {
    await fs.rm(partPath, { force: true });
    throw new Error(
      `sha256 mismatch for ${fetchUrl}: expected ${expected}, got ${actual}; ` +
        `the download was discarded and ${dest} was left as it was`,
    );
  }
  const { size } = await fs.stat(partPath);
  await fs.rename(partPath, dest);
  return { path: dest, sha256: actual, bytes: size, downloaded: true };
}

function normaliseSha256(sha256: string | null | undefined, url: string): string | null {
  if (sha256 === undefined || sha256 === null) return null;
  const hex = sha256.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`sha256 for ${url} must be 64 hex digits, got ${JSON.stringify(sha256)}`);
  return hex;
}

async function reuseExisting(dest: string, expected: string | null): Promise<DownloadResult | null> {
  let size: number;
  try {
    const stat = await fs.stat(dest);
    if (!stat.isFile()) throw new Error(`download destination ${dest} exists and is not a file`);
    size = stat.size;
  } catch (error) {
    if (isNodeError(error) && error.code === 'ENOENT') return null;
    throw error;
  }
  // Without a known hash, a file at the destination is trusted: downloads only land there
  // by rename after their length was checked, never half-written.
  const actual = await sha256File(dest);
  if (expected !== null && actual !== expected) return null;
  return { path: dest, sha256: actual, bytes: size, downloaded: false };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fetchWithRetries(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const retries = options.retries ?? 5;
  const baseDelay = options.retryDelayMs ?? 1000;
  let failuresWithoutProgress = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const before = await fileSize(partPath);
    try {
      await fetchOnce(url, partPath, options);
      return;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const failure = asDownloadError(error, url);
      if (!failure.retryable) throw failure;
      // A cut connection that delivered bytes is progress: resume without spending a retry.
      const madeProgress = (await fileSize(partPath)) > before;
      failuresWithoutProgress = madeProgress ? 0 : failuresWithoutProgress + 1;
      if (failuresWithoutProgress > retries) {
        throw new DownloadError(`${failure.message} (gave up after ${retries + 1} attempts)`, url, failure.status, false);
      }
      if (failuresWithoutProgress > 0) {
        await sleep(Math.min(MAX_BACKOFF_MS, baseDelay * 2 ** (failuresWithoutProgress - 1)), options.signal);
      }
    }
  }
}

function asDownloadError(error: unknown, url: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const message = error instanceof Error ? error.message : String(error);
  // Anything other than an HTTP answer here is the connection failing (refused, reset, cut mid-body).
  return new DownloadError(`GET ${url} failed: ${message}${cause}`, url, undefined, true);
}

/** One request: resumes from the .part file's length when there is one. */
async function fetchOnce(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const offset = await fileSize(partPath);
  const stall = new AbortController();
  const onUserAbort = (): void => stall.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStallTimer = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(
      () => stall.abort(new DownloadError(`GET ${url} stalled: no data for ${stallTimeoutMs} ms`, url, undefined, true)),
      stallTimeoutMs,
    );
  };
  let bar: cliProgress.SingleBar | undefined;
  try {
    armStallTimer();
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: stall.signal, redirect: 'follow' });
    } catch (error) {
      throw stall.signal.reason instanceof DownloadError ? stall.signal.reason : error;
    }

    let start: number;
    let total: number | null;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range === null || range.start !== offset) {
        // A range we did not ask for: drop the partial file and start over on the next attempt.
        await response.body?.cancel();
        await fs.rm(partPath, { force: true });
        throw new DownloadError(`GET ${url} answered an unexpected range (${response.headers.get('content-range')})`, url, 206, true);
      }
      start = offset;
      total = range.total;
    } else if (response.status === 200) {
      // The server ignored (or never got) the Range header: the body is the whole file.
      start = 0;
      const length = response.headers.get('content-length');
      total = length === null ? null : Number(length);
    } else if (response.status === 416 && offset > 0) {
      await response.body?.cancel();
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.total === offset) return; // the .part already held the whole file
      await fs.rm(partPath, { force: true });
      throw new DownloadError(`GET ${url}: partial file did not fit the server's file (HTTP 416); starting over`, url, 416, true);
    } else {
      await response.body?.cancel();
      const retryable = response.status >= 500 || RETRYABLE_STATUSES.has(response.status);
      throw new DownloadError(
        `GET ${url} failed: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
        url,
        response.status,
        retryable,
      );
    }
    if (response.body === null) throw new DownloadError(`GET ${url} returned no body`, url, response.status, true);

    if (options.progress ?? Boolean(process.stderr.isTTY)) {
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${path.basename(new URL(url).pathname)} [{bar}] {percentage}% | {value_mb}/{total_mb} MB | {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          // Asked for explicitly: print a line every few seconds even when stderr is a pipe or a log file.
          noTTYOutput: options.progress === true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total ?? 0, start, megabytes(start, total));
    }

    const handle = await fs.open(partPath, start === 0 ? 'w' : 'a');
    let written = start;
    try {
      for await (const chunk of response.body) {
        armStallTimer();
        await handle.write(chunk);
        written += chunk.byteLength;
        bar?.update(written, megabytes(written, total));
      }
      await handle.sync();
    } catch (error) {
      throw stall.signal.reason instanceof DownloadError ? stall.signal.reason : error;
    } finally {
      await handle.close();
    }
    if (total !== null && written !== total) {
      throw new DownloadError(`GET ${url}: connection closed after ${written} of ${total} bytes`, url, undefined, true);
    }
  } finally {
    clearTimeout(stallTimer);
    options.signal?.removeEventListener('abort', onUserAbort);
    bar?.stop();
  }
}

function megabytes(value: number, total: number | null): { value_mb: string; total_mb: string } {
  return { value_mb: (value / 1e6).toFixed(1), total_mb: total === null ? '?' : (total / 1e6).toFixed(1) };
}

// 'bytes 100-199/1000' -> start 100, total 1000; 'bytes <star>/1000' (sent with 416) -> start NaN, total 1000.
function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  if (header === null) return null;
  const match = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(header.trim());
  if (!match) return null;
  return {
    start: match[1] === undefined ? Number.NaN : Number(match[1]),
    total: match[3] === '*' ? null : Number(match[3]),
  };
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (error) {
    if (isNodeError(error) && error.code === 'ENOENT') return 0;
    throw error;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
