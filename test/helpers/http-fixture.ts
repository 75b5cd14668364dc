import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** Faults a test can inject for one path (the URL path, e.g. `/huggingface.co/…/x.gguf`). */
export interface Fault {
  /** Send this many body bytes, then drop the connection; only on the next `times` requests (default 1). */
  dropAfter?: number;
  /** Send this many body bytes, then hang (for abort tests). */
  stallAfter?: number;
  /** Answer this status instead of the file. */
  status?: number;
  /** Ignore Range requests: always answer 200 with the whole file. */
  ignoreRange?: boolean;
  /** Send this as a quoted ETag (Hugging Face sends the LFS sha256 this way). */
  etag?: string;
  /** Answer with a 302 to the same path under `/cdn`, with X-Linked-Etag / X-Linked-Size set from these. */
  redirectWith?: { etag?: string; size?: number };
  /** How many requests the fault applies to; undefined = every request (except dropAfter / stallAfter: once). */
  times?: number;
  /** The fault that applies once this one is used up. */
  then?: Fault;
}

export interface SeenRequest {
  readonly path: string;
  readonly range?: string;
  readonly ifRange?: string;
  readonly status: number;
}

export interface HttpFixture {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly requests: SeenRequest[];
  fault(path: string, fault: Fault): void;
  /** Removes any fault on `path`. */
  clear(path: string): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) serving `root`, with
 * Range / If-Range support and injectable faults, for download tests.
 */
export const startHttpFixture = async (root: string): Promise<HttpFixture> => {
  const faults = new Map<string, Fault>();
  const requests: SeenRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const useFault = (path: string): Fault | undefined => {
    const fault = faults.get(path);
    if (!fault) return undefined;
    const times = fault.times ?? (fault.dropAfter !== undefined || fault.stallAfter !== undefined ? 1 : Infinity);
    if (times <= 1) {
      if (fault.then) faults.set(path, fault.then);
      else faults.delete(path);
    } else faults.set(path, { ...fault, times: times - 1 });
    return fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const seen = (status: number) => requests.push({ path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, status });
    const fault = useFault(path);
    if (fault?.redirectWith) {
      const headers: Record<string, string | number> = { location: `/cdn${path}` };
      if (fault.redirectWith.etag) headers['x-linked-etag'] = `"${fault.redirectWith.etag}"`;
      if (fault.redirectWith.size) headers['x-linked-size'] = fault.redirectWith.size;
      seen(302);
      res.writeHead(302, headers).end();
      return;
    }
    if (path.startsWith('/cdn/')) path = path.slice(4);
    if (fault?.status) {
      seen(fault.status);
      res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`fault ${fault.status}\n`);
      return;
    }
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      seen(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const etag = fault?.etag ? `"${fault.etag}"` : `"${info.size}-${Math.trunc(info.mtimeMs)}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeOk = range && !fault?.ignoreRange && (ifRange === undefined || ifRange === etag);
    if (rangeOk) {
      start = Number(range[1]);
      if (start >= info.size) {
        seen(416);
        res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
        return;
      }
    }
    const status = rangeOk ? 206 : 200;
    seen(status);
    const headers: Record<string, string | number> = { 'content-length': info.size - start, etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (status === 206) headers['content-range'] = `bytes ${start}-${info.size - 1}/${info.size}`;
    res.writeHead(status, headers);
    const cut = fault?.dropAfter ?? fault?.stallAfter;
    if (cut !== undefined) {
      const bytes = (await readFile(file)).subarray(start, start + cut);
      res.write(bytes, () => {
        if (fault?.dropAfter !== undefined) setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    createReadStream(file, { start, highWaterMark: 1 << 20 }).pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fault: (path, fault) => faults.set(path, fault),
    clear: (path) => faults.delete(path),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
