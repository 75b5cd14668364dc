import { hostname as machineName } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.js';

/*
 * The checks that keep web pages out (issue 12, "Locking the doors"). A
 * page the user visits can send a "simple" cross-site request (text/plain,
 * no preflight) to 127.0.0.1, and with a rebinding DNS name it can read the
 * answer too. So: the Host header must name this daemon (DNS rebinding), an
 * Origin must be this daemon's own or one allowed by --cors, and request
 * bodies must be JSON (or multipart where an upload is documented).
 */

const isLoopbackName = (host: string): boolean =>
  host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '0:0:0:0:0:0:0:1';

/** The host part of a Host header (`[::1]:8080` → `::1`, `Example.COM.:80` → `example.com`). */
export const hostOf = (header: string): string => {
  const value = header.trim().toLowerCase();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracket) return bracket[1]!;
  const colons = value.split(':').length - 1;
  const host = colons === 1 ? value.slice(0, value.lastIndexOf(':')) : value;
  return host.replace(/\.$/, '');
};

/** The Host a request names: its header, else (a request made in process) its URL's. */
const requestHost = (header: string | undefined, url: string): string => header ?? new URL(url).host;

export interface HostCheckOptions {
  /** The address the daemon is bound to. */
  readonly boundHost: string;
  /** MURMUR_ALLOWED_HOSTS: more names that may reach it ('*' for any). */
  readonly allowedHosts: readonly string[];
}

/**
 * Refuses (403) a request whose Host is not this daemon: on a loopback
 * address only loopback names, the machine's own name and the allowed
 * hosts; bound to another address, any Host unless MURMUR_ALLOWED_HOSTS
 * lists them (a daemon on a LAN is reached by names murmur cannot know).
 */
export const checkHost = ({ boundHost, allowedHosts }: HostCheckOptions): MiddlewareHandler => {
  const bound = hostOf(boundHost);
  const loopbackOnly = isLoopbackName(bound);
  const allowed = new Set(allowedHosts.map(hostOf));
  const own = machineName().toLowerCase();
  return async (c, next) => {
    if (allowed.has('*') || (!loopbackOnly && allowed.size === 0)) return next();
    const host = hostOf(requestHost(c.req.header('Host'), c.req.url));
    const ok = isLoopbackName(host) || host === bound || allowed.has(host) || (loopbackOnly && (host === own || host === `${own}.local`));
    if (!ok) {
      throw new AppError('forbidden', `Requests for the host '${host || '(none)'}' are refused: this daemon answers to loopback names${allowed.size ? ` and ${[...allowed].join(', ')}` : ''}.`, {
        hint: 'A web page may be trying to reach it through DNS rebinding. To reach it by another name, add that name to MURMUR_ALLOWED_HOSTS.',
      });
    }
    return next();
  };
};

/**
 * Refuses (403) a request with an Origin that is neither this daemon's own
 * (the same host and port as the request) nor allowed by --cors
 * (MURMUR_CORS). Clients that are not browsers send no Origin.
 */
export const checkOrigin = (corsOrigins: readonly string[]): MiddlewareHandler => {
  const any = corsOrigins.includes('*');
  const allowed = new Set(corsOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  return async (c, next) => {
    const origin = c.req.header('Origin');
    if (!origin || any) return next();
    const normal = origin.replace(/\/+$/, '').toLowerCase();
    let same = false;
    try {
      same = new URL(normal).host === requestHost(c.req.header('Host'), c.req.url).toLowerCase();
    } catch {
      /* "null" and other opaque origins are never this daemon's */
    }
    if (!same && !allowed.has(normal)) {
      throw new AppError('forbidden', `Requests from the web origin ${origin} are refused.`, {
        hint: 'To let a web app call the daemon, start it with --cors ORIGIN (or MURMUR_CORS).',
      });
    }
    return next();
  };
};

/**
 * Refuses (415) a request body that is not JSON, except multipart or
 * form-encoded bodies on `uploadPaths`: a browser can send text/plain
 * across sites without asking, JSON it cannot. On paths `curlDefault`
 * accepts (Ollama's, whose documented examples are `curl -d '{…}'` with
 * curl's default form type), an untyped, text/plain or form-encoded body
 * is read as JSON when the request carries no Origin: a browser always
 * sends one with a POST, curl and scripts never do.
 */
export const requireJsonBodies = (uploadPaths: readonly string[], curlDefault: (path: string) => boolean = () => false): MiddlewareHandler => async (c, next) => {
  const length = c.req.header('Content-Length');
  // Over HTTP a body is announced by its length or chunking (a bare `curl -X POST` has neither); a request made in process says it by having one.
  const served = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
  const hasBody = length !== undefined ? length !== '0' : c.req.header('Transfer-Encoding') !== undefined || (!served && c.req.raw.body !== null);
  if (!hasBody || c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return next();
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  const json = type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
  const upload = uploadPaths.includes(c.req.path) && (type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded');
  const curl = curlDefault(c.req.path) && c.req.header('Origin') === undefined && ['', 'text/plain', 'application/x-www-form-urlencoded'].includes(type);
  if (!json && !upload && !curl) {
    throw new AppError('unsupported_media_type', `Request bodies must be JSON (Content-Type: application/json)${uploadPaths.includes(c.req.path) ? ', or multipart/form-data for uploads' : ''}, not ${type ? `'${type}'` : 'untyped'}.`, {
      hint: "Send the header 'Content-Type: application/json'.",
    });
  }
  return next();
};

