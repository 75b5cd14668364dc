/**
 * Upstreams and routes as plain values: their checks, the `serve --upstream`
 * and `--route` flags, globs and the warnings for routes that can never
 * match. src/config-file.ts reads the same things from YAML and re-exports
 * what the router uses.
 */
import { parseDuration } from './config.js';
import { UsageError } from './errors.js';
import type { RouteSpec, UpstreamDialect, UpstreamSpec } from './types/routing.js';

/** An upstream's timeout when none is given: how long it may take to send its response's headers. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** How often an upstream is checked when no health-interval is given. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;

/** The values an upstream's `dialect` accepts, the first the default. */
export const dialects: readonly UpstreamDialect[] = ['openai', 'murmur'];

const NAME = /^[A-Za-z0-9._-]+$/;
const NAME_RULE = "letters, digits, '-', '_' and '.'";

/** Checks an upstream's name (`what` names where it was given); returns it. */
export const checkUpstreamName = (name: string, what: string): string => {
  if (NAME.test(name)) return name;
  throw new UsageError(`${what} '${name}' is not a valid upstream name: use only ${NAME_RULE}.`, {
    hint: 'Name it like a host, e.g. gpu-box or vllm.1; routes refer to it by that name.',
  });
};

/**
 * Parses an upstream's base URL: http or https, parsed by WHATWG URL, with
 * trailing slashes dropped. A path without /v1 is kept as written (some
 * servers mount OpenAI's routes elsewhere).
 */
export const parseUpstreamUrl = (raw: string, name: string): string => {
  const value = raw.trim().replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new UsageError(`${name} must be an http or https URL such as http://gpu-box:8000/v1, not '${raw}'.`, {
      hint: "Give the server's OpenAI base URL, with its scheme and port (llama-server and vLLM serve it at /v1).",
    });
  }
  return value;
};

/** Parses a dialect: openai or murmur. */
export const parseDialect = (raw: string, name: string): UpstreamDialect => {
  const value = raw.trim().toLowerCase();
  if ((dialects as readonly string[]).includes(value)) return value as UpstreamDialect;
  throw new UsageError(`${name} must be ${dialects.join(' or ')}, not '${raw}'.`, {
    hint: 'openai for any OpenAI-compatible server (vLLM, llama-server, Ollama, LM Studio), murmur for another murmur daemon.',
  });
};

/** Parses a duration (`30s`, `2m`, a number of seconds) that must be above zero; returns ms. */
export const parsePositiveDuration = (raw: string, name: string): number => {
  // parseDuration's own refusal speaks of keep-alives (-1 forever): this one is a plain duration.
  const ms = /^\s*\d+(\.\d+)?(ms|s|m|h|d)?\s*$/.test(raw) ? parseDuration(raw, name) : 0;
  if (ms <= 0) throw new UsageError(`${name} must be a duration above zero, such as 30s or 2m, not '${raw}'.`);
  return ms;
};

/** An upstream with the defaults filled in. */
export const upstreamSpec = (name: string, url: string, options: Partial<Omit<UpstreamSpec, 'name' | 'url'>> = {}): UpstreamSpec => ({
  name,
  url,
  ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
  timeoutMs: options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
  dialect: options.dialect ?? 'openai',
  healthIntervalMs: options.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS,
});

/** `serve --upstream NAME=URL`. */
export const parseUpstreamFlag = (raw: string): UpstreamSpec => {
  const at = raw.indexOf('=');
  if (at <= 0) {
    throw new UsageError(`--upstream must be NAME=URL, not '${raw}'.`, { hint: 'For example --upstream gpu=http://gpu-box:8000/v1.' });
  }
  const name = checkUpstreamName(raw.slice(0, at).trim(), '--upstream');
  return upstreamSpec(name, parseUpstreamUrl(raw.slice(at + 1), `--upstream ${name}`));
};

/**
 * The upstream side of a route as one string: `NAME`, `NAME,NAME` (replicas)
 * and an optional `:UPSTREAM_MODEL` rename. Upstream names cannot hold ':',
 * so the first one ends them; the rename may hold more (Ollama's `qwen3:8b`).
 */
export const parseRouteTarget = (raw: string, what: string): Pick<RouteSpec, 'upstreams' | 'model'> => {
  const colon = raw.indexOf(':');
  const names = (colon < 0 ? raw : raw.slice(0, colon)).split(',').map((s) => s.trim());
  const model = colon < 0 ? undefined : raw.slice(colon + 1).trim();
  if (names.some((n) => n === '') || model === '') {
    throw new UsageError(`${what} must name upstreams as NAME or NAME,NAME (and optionally :UPSTREAM_MODEL), not '${raw}'.`, {
      hint: 'For example qwen3-70b=gpu:Qwen/Qwen3-70B-Instruct, or llama-*=a,b for replicas.',
    });
  }
  for (const name of names) checkUpstreamName(name, what);
  return { upstreams: names, ...(model !== undefined ? { model } : {}) };
};

/** `serve --route MODEL=NAME[,NAME][:UPSTREAM_MODEL]`, split at the first '=' and then the first ':'. */
export const parseRouteFlag = (raw: string): RouteSpec => {
  const at = raw.indexOf('=');
  const pattern = at < 0 ? '' : raw.slice(0, at).trim();
  if (pattern === '') {
    throw new UsageError(`--route must be MODEL=UPSTREAM, not '${raw}'.`, { hint: 'For example --route qwen3-70b=gpu, --route "llama-*=a,b" or --route qwen3-70b=gpu:Qwen/Qwen3-70B-Instruct.' });
  }
  return { pattern, ...parseRouteTarget(raw.slice(at + 1), `--route ${pattern}`), source: '--route' };
};

/** The hint for a route naming an upstream that is not declared. */
export const unknownUpstreamHint = (known: readonly string[]): string =>
  known.length
    ? `The upstreams are ${known.map((n) => `'${n}'`).join(', ')}.`
    : 'Declare it under `upstreams:` in the config file (NAME: {url: http://HOST:PORT/v1}) or with serve --upstream NAME=URL.';

/**
 * The file's upstreams and routes with the flags': a flag upstream gives a
 * new URL to the file's of the same name (its other fields stay), flag routes come first (the first match
 * wins). Every flag route must name a known upstream.
 */
export const mergeRouting = (
  file: { readonly upstreams: readonly UpstreamSpec[]; readonly routes: readonly RouteSpec[] },
  upstreams: readonly UpstreamSpec[],
  routes: readonly RouteSpec[],
): { upstreams: UpstreamSpec[]; routes: RouteSpec[] } => {
  const given = new Set<string>();
  for (const upstream of upstreams) {
    if (given.has(upstream.name)) throw new UsageError(`--upstream ${upstream.name} is given twice.`, { hint: 'Give each upstream once; list replicas under different names.' });
    given.add(upstream.name);
  }
  // A flag gives only a URL: an upstream the file declares keeps its key, timeout, dialect and checks.
  const merged = [...file.upstreams.filter((u) => !given.has(u.name)), ...upstreams.map((flag) => {
    const declared = file.upstreams.find((u) => u.name === flag.name);
    return declared ? { ...declared, url: flag.url } : flag;
  })];
  const known = merged.map((u) => u.name);
  for (const route of routes) {
    const missing = route.upstreams.find((name) => !known.includes(name));
    if (missing !== undefined) throw new UsageError(`--route ${route.pattern} names the upstream '${missing}', which is not declared.`, { hint: unknownUpstreamHint(known) });
  }
  return { upstreams: merged, routes: [...routes, ...file.routes] };
};

/** Whether a route's pattern is a glob (`*`, `?`) rather than one name. */
export const isGlob = (pattern: string): boolean => /[*?]/.test(pattern);
const globs = new Map<string, RegExp>();

/**
 * Whether `model` matches a route's `pattern`: the whole name, case-sensitive,
 * `*` standing for any run of characters (none included) and `?` for one.
 */
export const matchesRoute = (pattern: string, model: string): boolean => {
  if (!isGlob(pattern)) return pattern === model;
  let regex = globs.get(pattern);
  if (!regex) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    regex = new RegExp(`^${source}$`, 's');
    globs.set(pattern, regex);
  }
  return regex.test(model);
};

/**
 * Routes that can never be chosen because an earlier one takes their models:
 * a later literal name an earlier pattern matches, or the same glob twice.
 * One line per such route (no `murmur: warning:` prefix, no newline), naming
 * both routes' sources.
 */
export const routeWarnings = (routes: readonly RouteSpec[]): string[] => {
  const lines: string[] = [];
  routes.forEach((later, j) => {
    const earlier = routes.slice(0, j).find((r) => r.pattern === later.pattern || (!isGlob(later.pattern) && matchesRoute(r.pattern, later.pattern)));
    if (earlier) {
      lines.push(
        `route '${later.pattern}' (${later.source ?? 'unknown'}) is never used: route '${earlier.pattern}' (${earlier.source ?? 'unknown'}) comes first and matches it, and the first match wins`,
      );
    }
  });
  return lines;
};
