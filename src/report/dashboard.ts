import { watch, type FSWatcher } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIVE_SCRIPT, escapeHtml } from './html.js';
import { RUN_RECORD_FILE } from './run-record.js';
import { renderReportHtml } from './write-report.js';

export interface DashboardOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface Dashboard {
  /** http://127.0.0.1:<port>/ */
  url: string;
  port: number;
  /** Tells open pages to reload now; the trainer may call it after each epoch. */
  notifyUpdate(): void;
  close(): Promise<void>;
}

/**
 * Serves the run's report on 127.0.0.1 and reloads open pages (Server-Sent Events) whenever
 * run.json changes, so `tlkit train --dashboard` shows the curves growing epoch by epoch.
 * The page is rendered afresh on each request, from the same code as the static report.
 */
export async function startDashboard(runDir: string, options: DashboardOptions = {}): Promise<Dashboard> {
  const clients = new Set<ServerResponse>();
  const notifyUpdate = (): void => {
    for (const client of clients) client.write(`event: update\ndata: ${Date.now()}\n\n`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(error instanceof Error ? error.message : String(error));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(await pageFor(runDir));
    } else if (url.pathname === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      // Reconnect quickly if the trainer restarts the dashboard.
      response.write('retry: 1000\n\n');
      clients.add(response);
      request.on('close', () => clients.delete(response));
    } else if (url.pathname === '/favicon.ico') {
      // Browsers ask for it on every load; answering "no content" keeps their consoles clean.
      response.writeHead(204).end();
    } else {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const watcher = watchRunRecord(runDir, notifyUpdate);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    notifyUpdate,
    close: async () => {
      watcher?.close();
      for (const client of clients) client.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets from page loads would otherwise hold close() open.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Before the first epoch (or while run.json is unreadable) the page says why and keeps listening. */
async function pageFor(runDir: string): Promise<string> {
  try {
    return await renderReportHtml(runDir, { liveUpdates: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return (
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tlkit dashboard</title></head>` +
      `<body style="font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 40px; color: #1d2330">` +
      `<h1 style="font-size: 20px">Waiting for the run</h1><p>${escapeHtml(message)}</p>` +
      `${LIVE_SCRIPT}</body></html>`
    );
  }
}

/**
 * The trainer replaces run.json by renaming a temporary file over it, so the directory is watched
 * (a watch on the file itself would follow the old, unlinked inode). Bursts are coalesced.
 */
function watchRunRecord(runDir: string, onChange: () => void): FSWatcher | undefined {
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(runDir, (_event, filename) => {
      if (filename !== null && filename.toString() !== RUN_RECORD_FILE) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, 100);
    });
    watcher.on('close', () => clearTimeout(timer));
    return watcher;
  } catch {
    // Without a watchable directory the trainer's notifyUpdate() calls still drive updates.
    return undefined;
  }
}
