import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the test server answers one path. Counters (`failFirst`, `cutFirst`) are per route. */
export interface Route {
  body: Uint8Array;
  /** Always answer this status with a short text body instead of the file (404, 500, ...). */
  status?: number;
  /** The first N requests get `failStatus` (default 500); later ones get the file. */
  failFirst?: number;
  failStatus?: number;
  /** Answer 200 with the whole file even when the request carries a Range header. */
  ignoreRange?: boolean;
  /** Destroy the socket after sending this many body bytes ... */
  cutAfterBytes?: number;
  /** ... for the first N responses only (default: every response). */
  cutFirst?: number;
  /** Instead of destroying the socket at the cut, stop sending and keep it open (a stalled server). */
  hangAtCut?: boolean;
}

export interface LoggedRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: LoggedRequest[];
  setRoute(path: string, route: Route): void;
  requestsFor(path: string): LoggedRequest[];
  close(): Promise<void>;
}

/** A file server on 127.0.0.1 (random port) that can misbehave on purpose: fail, cut connections, ignore Range. */
export async function startTestServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const table = new Map<string, Route>(Object.entries(routes));
  const served = new Map<string, number>();
  const requests: LoggedRequest[] = [];

  const server = http.createServer((request, response) => {
    const urlPath = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const range = request.headers.range;
    const route = table.get(urlPath);
    const count = served.get(urlPath) ?? 0;
    served.set(urlPath, count + 1);
    const log = (status: number): void => {
      requests.push({ path: urlPath, range, status });
    };

    if (route === undefined) {
      log(404);
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const failing = route.status ?? (count < (route.failFirst ?? 0) ? (route.failStatus ?? 500) : undefined);
    if (failing !== undefined) {
      log(failing);
      response.writeHead(failing, { 'content-type': 'text/plain' }).end(`status ${failing}`);
      return;
    }

    const size = route.body.byteLength;
    let start = 0;
    let status = 200;
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    const match = range === undefined || route.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(range);
    if (match) {
      start = Number(match[1]);
      const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
      if (start >= size) {
        log(416);
        response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
      headers['content-length'] = end - start + 1;
      log(status);
      response.writeHead(status, headers);
      sendBody(response, route.body.subarray(start, end + 1), route, count);
      return;
    }
    headers['content-length'] = size;
    log(status);
    response.writeHead(status, headers);
    sendBody(response, route.body, route, count);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    setRoute(routePath, route) {
      table.set(routePath, route);
      served.delete(routePath);
    },
    requestsFor(routePath) {
      return requests.filter((request) => request.path === routePath);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function sendBody(response: http.ServerResponse, body: Uint8Array, route: Route, count: number): void {
  const cutting = route.cutAfterBytes !== undefined && count < (route.cutFirst ?? Number.POSITIVE_INFINITY);
  if (!cutting || route.cutAfterBytes === undefined || route.cutAfterBytes >= body.byteLength) {
    response.end(body);
    return;
  }
  // Flush the first bytes, then drop the connection as a failing network would.
  response.write(body.subarray(0, route.cutAfterBytes), () => {
    if (!route.hangAtCut) response.socket?.destroy();
  });
}
