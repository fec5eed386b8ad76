import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, promises as fs, writeSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
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

/**
 * Fetches `url` to `dest` through `<dest>.part`: a cut connection resumes with a Range request, failures that
 * made no progress are retried with backoff, and the file is renamed into place only after its length (and its
 * SHA-256, when one is given) checked out. A file already at `dest` with the right hash is returned as it is.
 * After a failure the .part is kept so the next call resumes it; after a hash mismatch it is deleted.
 */
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
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'tlkit' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  const response = await openResponse(url, headers, stallTimeoutMs, options.signal);

  // From here to attaching the 'data' listener nothing may await: bytes that arrived with the headers
  // would be dropped if the connection closed in between, and resuming relies on every received byte.
  const status = response.statusCode ?? 0;
  let start: number;
  let total: number | null;
  if (status === 206) {
    const range = parseContentRange(response.headers['content-range']);
    if (range === null || range.start !== offset) {
      response.destroy();
      // A range we did not ask for: drop the partial file and start over on the next attempt.
      await fs.rm(partPath, { force: true });
      throw new DownloadError(`GET ${url} answered an unexpected range (${response.headers['content-range']})`, url, 206, true);
    }
    start = offset;
    total = range.total;
  } else if (status === 200) {
    // The server ignored the Range header: the body is the whole file.
    start = 0;
    const length = response.headers['content-length'];
    total = length === undefined ? null : Number(length);
  } else if (status === 416 && offset > 0) {
    response.destroy();
    const range = parseContentRange(response.headers['content-range']);
    if (range?.total === offset) return; // the .part already held the whole file
    await fs.rm(partPath, { force: true });
    throw new DownloadError(`GET ${url}: partial file did not fit the server's file (HTTP 416); starting over`, url, 416, true);
  } else {
    response.destroy();
    const retryable = status >= 500 || RETRYABLE_STATUSES.has(status);
    const reason = response.statusMessage ? ` ${response.statusMessage}` : '';
    throw new DownloadError(`GET ${url} failed: HTTP ${status}${reason}`, url, status, retryable);
  }

  const bar = startProgressBar(url, start, total, options.progress);
  const fd = openSync(partPath, start === 0 ? 'w' : 'a');
  let written = start;
  try {
    await new Promise<void>((resolve, reject) => {
      let stallTimer: NodeJS.Timeout | undefined;
      const armStallTimer = (): void => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          response.destroy(new DownloadError(`GET ${url} stalled: no data for ${stallTimeoutMs} ms`, url, undefined, true));
        }, stallTimeoutMs);
      };
      armStallTimer();
      response.on('data', (chunk: Buffer) => {
        armStallTimer();
        try {
          // Synchronous on purpose: each byte is on disk before the next event, so a cut loses nothing.
          writeSync(fd, chunk);
        } catch (error) {
          response.destroy(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        written += chunk.byteLength;
        bar?.update(written, megabytes(written, total));
      });
      let failure: unknown;
      response.on('error', (error) => {
        failure = error;
      });
      response.on('close', () => {
        clearTimeout(stallTimer);
        if (failure instanceof DownloadError || options.signal?.aborted) reject(failure ?? options.signal?.reason);
        else if (!response.complete) {
          const detail = failure instanceof Error ? ` (${failure.message})` : '';
          reject(new DownloadError(`GET ${url}: connection closed after ${written}${total === null ? '' : ` of ${total}`} bytes${detail}`, url, undefined, true));
        } else resolve();
      });
    });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    bar?.stop();
  }
  if (total !== null && written !== total) {
    throw new DownloadError(`GET ${url}: received ${written} bytes, expected ${total}`, url, undefined, true);
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** GET with redirects followed (Hugging Face answers `resolve/` URLs with a redirect to its CDN). */
async function openResponse(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<http.IncomingMessage> {
  let current = new URL(url);
  for (let redirects = 0; ; redirects++) {
    const response = await requestOnce(current, headers, timeoutMs, signal);
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) return response;
    response.destroy();
    if (redirects >= MAX_REDIRECTS) throw new DownloadError(`GET ${url}: more than ${MAX_REDIRECTS} redirects`, url, response.statusCode, false);
    const next = new URL(location, current);
    if (current.protocol === 'https:' && next.protocol !== 'https:') {
      throw new DownloadError(`GET ${url}: refusing a redirect from https to ${next.protocol} (${next.href})`, url, response.statusCode, false);
    }
    current = next;
  }
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (client === null) return Promise.reject(new DownloadError(`cannot download ${url.href}: only http and https are supported`, url.href, undefined, false));
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers, signal }, resolve);
    request.setTimeout(timeoutMs, () => {
      request.destroy(new DownloadError(`GET ${url.href}: no answer within ${timeoutMs} ms`, url.href, undefined, true));
    });
    request.on('error', reject);
  });
}

function startProgressBar(url: string, start: number, total: number | null, progress: boolean | undefined): cliProgress.SingleBar | undefined {
  if (!(progress ?? Boolean(process.stderr.isTTY))) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${path.basename(new URL(url).pathname)} [{bar}] {percentage}% | {value_mb}/{total_mb} MB | {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      // Asked for explicitly: print a line every few seconds even when stderr is a pipe or a log file.
      noTTYOutput: progress === true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, start, megabytes(start, total));
  return bar;
}

function megabytes(value: number, total: number | null): { value_mb: string; total_mb: string } {
  return { value_mb: (value / 1e6).toFixed(1), total_mb: total === null ? '?' : (total / 1e6).toFixed(1) };
}

// 'bytes 100-199/1000' -> start 100, total 1000; 'bytes <star>/1000' (sent with 416) -> start NaN, total 1000.
function parseContentRange(header: string | undefined): { start: number; total: number | null } | null {
  if (header === undefined) return null;
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
