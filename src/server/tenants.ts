import type { Context, MiddlewareHandler } from 'hono';
import { RateLimitedError } from '../errors.js';
import type { TenantSpec } from '../types/routing.js';
import type { ServerEnv } from './context.js';
import type { Metrics } from './metrics.js';
import { isStreamed, whenBodyEnds } from './middleware/request-log.js';
import { sameKey } from './middleware/auth.js';

/*
 * Tenants of a shared daemon: the config file's `keys` (each a name, a key
 * and optional limits) plus MURMUR_API_KEY, which stays valid as the tenant
 * `default` with no limits. The auth middleware finds a request's tenant
 * (requireApiKey), tenantLimits() admits it or answers 429 with Retry-After,
 * and its name goes on the context (`c.get('tenant')?.name`) for the log.
 *
 * Tokens are charged when a generation finishes: the generation routes do
 * it through generationRecorder (metrics.ts); a route that learns a
 * request's usage some other way (a pass-through proxy) calls
 *
 *     chargeTokens(c, promptTokens, completionTokens)
 *
 * which charges the request's tenant and is a no-op on a daemon without keys.
 *
 * No rate-limit library is among the project's dependencies, and the three
 * limits are each a few lines over an injected clock (which the unit tests
 * drive), so they are written here.
 */

/** The window requests and tokens are counted over: one minute. */
const WINDOW_MS = 60_000;

/** Which limit refused a request. */
export type LimitReason = 'requests' | 'streams' | 'tokens';

/** A limiter's answer: admitted (release it when the request is over), or refused with the limit and how long to wait. */
export type Admission =
  | { readonly ok: true; readonly release: () => void }
  | { readonly ok: false; readonly reason: LimitReason; readonly limit: number; readonly retryAfterSeconds: number };

export interface TenantLimiter {
  /** Admits one request now, or says which limit refuses it. A refused request counts against nothing. */
  admit(): Admission;
  /** Charges tokens to the window at the current time. */
  charge(tokens: number): void;
  /** Requests admitted and not yet released. */
  readonly inFlight: number;
}

/** Whole seconds until `ms` from now, at least 1 (Retry-After). */
const secondsUntil = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The limits of one key, over `now` (ms; default Date.now): requests per
 * minute and tokens per minute over a sliding one-minute window (what was
 * admitted or charged at time t counts until t + 60 s), and streams as
 * requests in flight. Absent limits do not apply.
 */
export const createLimiter = (limits: Pick<TenantSpec, 'requestsPerMinute' | 'streams' | 'tokensPerMinute'>, now: () => number = Date.now): TenantLimiter => {
  /** When each request of the last minute was admitted, oldest first (at most requestsPerMinute of them). */
  const admitted: number[] = [];
  /** Tokens charged in the last minute, oldest first. */
  const charged: { at: number; tokens: number }[] = [];
  let tokenTotal = 0;
  let inFlight = 0;
  const expire = (t: number) => {
    while (admitted.length && admitted[0]! <= t - WINDOW_MS) admitted.shift();
    while (charged.length && charged[0]!.at <= t - WINDOW_MS) tokenTotal -= charged.shift()!.tokens;
  };
  return {
    admit() {
      const t = now();
      expire(t);
      const { requestsPerMinute: rpm, streams, tokensPerMinute: tpm } = limits;
      if (rpm !== undefined && admitted.length >= rpm) {
        // One more is allowed once the oldest of the last `rpm` ages out.
        const oldest = admitted[admitted.length - rpm] ?? t;
        return { ok: false, reason: 'requests', limit: rpm, retryAfterSeconds: secondsUntil(oldest + WINDOW_MS - t) };
      }
      if (streams !== undefined && inFlight >= streams) {
        // Nothing says when one of those in flight ends: a second, as the daemon's other 503s and 429s say.
        return { ok: false, reason: 'streams', limit: streams, retryAfterSeconds: 1 };
      }
      if (tpm !== undefined && tokenTotal >= tpm) {
        // Wait until enough of the window's tokens age out to bring it under the limit.
        let left = tokenTotal;
        let until = t;
        for (const entry of charged) {
          left -= entry.tokens;
          until = entry.at + WINDOW_MS;
          if (left < tpm) break;
        }
        return { ok: false, reason: 'tokens', limit: tpm, retryAfterSeconds: secondsUntil(until - t) };
      }
      if (rpm !== undefined) admitted.push(t);
      inFlight += 1;
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          inFlight -= 1;
        },
      };
    },
    charge(tokens) {
      if (!(tokens > 0) || limits.tokensPerMinute === undefined) return;
      const t = now();
      expire(t);
      charged.push({ at: t, tokens });
      tokenTotal += tokens;
    },
    get inFlight() {
      return inFlight;
    },
  };
};

/** The tenant of one request, as routes see it on the context (`c.get('tenant')`). */
export interface RequestTenant {
  /** The key's name (never the key). */
  readonly name: string;
  /** Charges a finished generation's tokens to this key. */
  charge(promptTokens: number, completionTokens: number): void;
}

/** One configured key. */
export interface Tenant extends RequestTenant {
  readonly spec: TenantSpec;
  readonly limiter: TenantLimiter;
}

export interface Tenants {
  /** True when any key is configured: then every request but the open paths needs one. */
  readonly enabled: boolean;
  readonly list: readonly Tenant[];
  /** The tenant whose key `given` is: every key is compared, each in constant time, so the time taken says nothing of which matched. */
  identify(given: string): Tenant | undefined;
  /** Admits a request of `tenant`, counting it; returns its release. Throws RateLimitedError (429) over a limit. */
  admit(tenant: Tenant): () => void;
}

/** A limit in words, singular or plural by its number. */
const limitWords = (reason: LimitReason, limit: number): string =>
  ({ requests: `${limit} request${limit === 1 ? '' : 's'} per minute`, streams: `${limit} concurrent stream${limit === 1 ? '' : 's'}`, tokens: `${limit} token${limit === 1 ? '' : 's'} per minute` })[reason];

/**
 * The daemon's tenants: `keys` (the config file's) and `apiKey`
 * (MURMUR_API_KEY; when set and not one of `keys`, the tenant `default`
 * with no limits). With `metrics`, each key's requests, refusals, tokens
 * and streams in flight are counted by name, when `keys` has any (a daemon
 * with one key or none writes no per-key lines). `now` is the limiters'
 * clock, in ms.
 */
export const createTenants = (keys: readonly TenantSpec[], apiKey: string | undefined, options: { readonly metrics?: Metrics; readonly now?: () => number } = {}): Tenants => {
  const specs: TenantSpec[] = [...keys];
  if (apiKey && !keys.some((k) => k.key === apiKey)) specs.push({ name: 'default', key: apiKey });
  const counts = keys.length > 0 ? options.metrics?.tenants : undefined;
  counts?.declare(specs.map((s) => s.name));
  const list = specs.map((spec): Tenant => {
    const limiter = createLimiter(spec, options.now);
    return {
      name: spec.name,
      spec,
      limiter,
      charge(promptTokens, completionTokens) {
        const tokens = Math.max(0, promptTokens || 0) + Math.max(0, completionTokens || 0);
        limiter.charge(tokens);
        counts?.tokens(spec.name, tokens);
      },
    };
  });
  return {
    enabled: list.length > 0,
    list,
    identify(given) {
      let found: Tenant | undefined;
      // No early exit: every key is compared whichever matches.
      for (const tenant of list) if (sameKey(given, tenant.spec.key) && !found) found = tenant;
      return found;
    },
    admit(tenant) {
      const admission = tenant.limiter.admit();
      if (!admission.ok) {
        counts?.rejected(tenant.name, admission.reason);
        const { reason, limit, retryAfterSeconds } = admission;
        throw new RateLimitedError(`Key '${tenant.name}' is over its ${limitWords(reason, limit)}; retry in ${retryAfterSeconds} s.`, retryAfterSeconds, {
          hint: reason === 'streams' ? 'Wait for one of its requests to finish.' : 'Wait for Retry-After, or ask for a higher limit in the config file\'s keys.',
        });
      }
      counts?.request(tenant.name);
      counts?.streams(tenant.name, 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        admission.release();
        counts?.streams(tenant.name, -1);
      };
    },
  };
};

/**
 * Applies the limits of the request's tenant (set by requireApiKey): a
 * request over one is a 429 with Retry-After in its dialect's shape. It
 * counts as in flight until its response is over: for a streamed reply, its
 * last byte or the client going away.
 */
export const tenantLimits = (tenants: Tenants): MiddlewareHandler<ServerEnv> => async (c, next) => {
  const tenant = c.get('tenant');
  const found = tenant && tenants.list.find((t) => t === tenant);
  if (!found) return next();
  // Look-ups (the model list, a model's entry, ps, status, metrics) are not what limits are for: a CLI's `murmur chat` asks one before its chat.
  // WebSocket upgrades (GETs too) are counted by their routes, for the socket's life.
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const release = tenants.admit(found);
  let later = false;
  try {
    await next();
    const body = c.res.body;
    if (body && isStreamed(c.res)) {
      c.res = whenBodyEnds(c.res, release);
      later = true;
    }
  } finally {
    if (!later) release();
  }
};

/** Charges a request's tokens to its tenant (a no-op without one): for routes that learn usage themselves, such as pass-through proxies. */
export const chargeTokens = (c: Context<ServerEnv>, promptTokens: number, completionTokens: number): void => c.get('tenant')?.charge(promptTokens, completionTokens);
