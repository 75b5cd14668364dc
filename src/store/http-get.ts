import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { checkLiteralHost, publicLookup } from './address-guard.js';
import httpParser from 'http-parser-js';

const { HTTPParser } = httpParser;

/**
 * One HTTP/1.1 GET for big downloads, on a plain socket: Node's socket reads
 * into one reused 1 MiB buffer (`onread`), http-parser-js (a parser, not
 * hand-written code) hands out the body as views of that buffer, and the
 * caller writes each view before the next read. Node's http client instead
 * copies every 64 KiB of body into a fresh Buffer; at a gigabyte a second
 * that garbage, and glibc handing the freed heap back to the kernel and
 * faulting it in again, made a local 1 GB pull 1.5–4× slower than curl and
 * erratic, where this path matches curl (bench/pull.mjs).
 */

export interface HttpHead {
  readonly status: number;
  readonly statusMessage: string;
  /** Lower-cased names; a repeated header's values joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpBody {
  /**
   * Calls `onChunk` with each piece of the body, in order, as it arrives.
   * A piece is a view of a buffer that is reused once `onChunk` returns:
   * use it (write it, hash it) before returning, or copy it. Resolves when
   * the body is complete; rejects on a network error, a connection that
   * closes early, the idle timeout or the signal. Call once.
   */
  forEach(onChunk: (chunk: Buffer) => void): Promise<void>;
  /** Closes the connection, dropping the rest of the body; a forEach under way resolves. */
  discard(): void;
}

export interface HttpGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Fails with ETIMEDOUT when no byte arrives for this long (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** Extra TLS options (tests pass their own CA). */
  readonly tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
  /** Connect to public addresses only (address-guard.ts): for pulls a client asked for over HTTP. */
  readonly publicOnly?: boolean;
}

const READ_BUFFER_BYTES = 1 << 20;

const withCode = (message: string, code: string, cause?: unknown): NodeJS.ErrnoException =>
  Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });

const abortError = (signal: AbortSignal): Error =>
  Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });

const headerRecord = (flat: readonly string[]): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!.trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
};

/** Request header names and values may not carry line breaks (no header injection). */
const headerLine = (name: string, value: string): string => {
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`Invalid header ${name}`);
  return `${name}: ${value}\r\n`;
};

/**
 * Sends `GET url` and resolves with the response head and a body to read.
 * Rejects with the socket's error (ECONNREFUSED, ENOTFOUND, ECONNRESET …,
 * as Node's http client would) when no head arrives.
 */
export const httpGet = (url: string, options: HttpGetOptions = {}): Promise<{ head: HttpHead; body: HttpBody }> =>
  new Promise((resolveHead, rejectHead) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') throw new TypeError(`Not an http(s) URL: ${url}`);
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port) || (secure ? 443 : 80);
    const { signal } = options;
    if (signal?.aborted) {
      rejectHead(abortError(signal));
      return;
    }

    let request = `GET ${target.pathname}${target.search} HTTP/1.1\r\n${headerLine('Host', target.host)}`;
    for (const [name, value] of Object.entries(options.headers ?? {})) request += headerLine(name, value);
    request += 'Connection: close\r\n\r\n';

    const parser = new HTTPParser(HTTPParser.RESPONSE);
    let head: HttpHead | undefined;
    let complete = false;
    let failure: Error | undefined;
    let consumer: ((chunk: Buffer) => void) | undefined;
    // Body bytes that came with the head, before anyone reads (copied: the buffer is reused).
    const early: Buffer[] = [];
    let settleBody: ((error?: Error) => void) | undefined;

    const onRead = (bytes: number, buffer: Buffer): boolean => {
      let parsed: number | Error;
      try {
        parsed = parser.execute(buffer, 0, bytes);
      } catch (error) {
        // The reader's own callback threw: that ends the body with its error.
        socket.destroy(error as Error);
        return false;
      }
      if (parsed instanceof Error) {
        socket.destroy(withCode(`malformed HTTP response from ${target.host}: ${parsed.message}`, 'HPE_INVALID', parsed));
        return false;
      }
      // Nobody reads yet: pause the socket until forEach, so at most one read's worth waits (copied) in `early`.
      return consumer !== undefined || head === undefined;
    };
    if (options.publicOnly) {
      try {
        checkLiteralHost(host);
      } catch (error) {
        rejectHead(error as Error);
        return;
      }
    }
    const connectOptions = {
      host,
      port,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead },
      ...(options.publicOnly ? { lookup: publicLookup } : {}),
    };
    const socket: Socket = secure
      ? tlsConnect({ ...connectOptions, servername: isIP(host) ? undefined : host, ...options.tls })
      : netConnect(connectOptions);

    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      head = { status: info.statusCode, statusMessage: info.statusMessage, headers: headerRecord(info.headers) };
      resolveHead({ head, body });
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const view = chunk.subarray(offset, offset + length);
      if (consumer) consumer(view);
      else early.push(Buffer.from(view));
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      complete = true;
      settleBody?.();
      socket.destroy();
    };

    const finish = (error?: Error) => {
      if (complete) return;
      if (!failure) {
        // A body read to the connection's end (no length, not chunked) ends here.
        if (!error && head) {
          const ended = parser.finish();
          if (!(ended instanceof Error) && complete) return;
        }
        failure = error ?? withCode(head ? `premature close: the connection to ${target.host} closed before the body ended` : 'socket hang up', head ? 'ERR_STREAM_PREMATURE_CLOSE' : 'ECONNRESET');
      }
      if (!head) rejectHead(failure);
      settleBody?.(failure);
    };

    const onAbort = () => socket.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(options.idleTimeoutMs ?? 30_000, () =>
      socket.destroy(withCode(`no data from ${target.host} for ${Math.round((options.idleTimeoutMs ?? 30_000) / 1000)} s`, 'ETIMEDOUT')),
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      signal?.removeEventListener('abort', onAbort);
      finish(failure);
    });
    socket.on('end', () => finish());
    socket.write(request);

    const body: HttpBody = {
      forEach: (onChunk) =>
        new Promise<void>((resolve, reject) => {
          settleBody = (error) => {
            settleBody = undefined;
            if (error) reject(error);
            else resolve();
          };
          for (const chunk of early.splice(0)) onChunk(chunk);
          if (complete) return void settleBody();
          if (failure) return void settleBody(failure);
          consumer = onChunk;
          socket.resume();
        }),
      discard: () => {
        if (complete) return;
        complete = true;
        socket.destroy();
        settleBody?.();
      },
    };
  });
