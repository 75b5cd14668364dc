import { AppError, isAbortError } from '../errors.js';
import { isGlob, matchesRoute } from '../config-routing.js';
import type { ModelInfo, ModelKind } from '../types/models.js';
import type { RouteSpec, UpstreamSpec } from '../types/routing.js';
import { noteUpstream } from './context.js';
import { createUpstream, UpstreamRetryable, type Upstream, type UpstreamHealthEvent, type UpstreamStatus } from './upstream.js';

/**
 * Routes: which upstream servers serve a model name, and the tries across
 * a route's replicas. The least busy healthy replica goes first; one that
 * is down, slow to answer or failing (UpstreamRetryable) hands the request
 * to the next, before anything reached the client. Health is checked in
 * the background (GET /models, which also lists what each serves); a
 * replica taken out rejoins at its first passing check.
 */

/** Where a request for a routed model goes. */
export interface RouteTarget {
  readonly route: RouteSpec;
  /** The name sent upstream: the route's rename, or the name asked for. */
  readonly model: string;
}

export interface Routing {
  /** The route of `model`, the first in file order that matches; undefined for a model served here. */
  resolve(model: string | undefined): RouteTarget | undefined;
  /**
   * Runs `attempt` on the target's replicas in turn (least busy healthy
   * first, the ones taken out last) until one does not throw
   * UpstreamRetryable; the last such error is thrown when none is left.
   * Each try counts as in flight on its replica until `attempt` settles.
   */
  dispatch<T>(target: RouteTarget, attempt: (upstream: Upstream) => Promise<T>): Promise<T>;
  /**
   * As dispatch, but the try that succeeds stays in flight until the
   * `end` it is given is called (a stream passed through ends later).
   */
  dispatchHeld<T>(target: RouteTarget, attempt: (upstream: Upstream, end: (failed?: boolean) => void) => Promise<T>): Promise<T>;
  /** The upstream of that name. */
  upstream(name: string): Upstream | undefined;
  /** The upstreams of a route, in its order. */
  upstreamsOf(route: RouteSpec): Upstream[];
  /** The routed models as entries for the model lists, each naming its upstreams. */
  models(): ModelInfo[];
  /** Each upstream's health and counts (ps, /murmur/v1/upstreams, and /metrics' murmur_upstream_* families). */
  status(): UpstreamStatus[];
  /** Checks every upstream now; resolves when all have answered or failed. */
  checkAll(): Promise<void>;
  close(): void;
}

export interface RoutingOptions {
  readonly upstreams: readonly UpstreamSpec[];
  readonly routes: readonly RouteSpec[];
  /** Told once per model that more than one route matches (seen in an upstream's listing). */
  readonly onWarning?: (message: string) => void;
  /** Start the background health checks (default true). */
  readonly checks?: boolean;
  /** Told each time an upstream is taken out (with why) or put back. */
  readonly onHealth?: (event: UpstreamHealthEvent) => void;
}

export const createRouting = (options: RoutingOptions): Routing => {
  const upstreams = new Map(options.upstreams.map((spec) => [spec.name, createUpstream(spec, options.onHealth ? { onHealth: options.onHealth } : {})]));
  const routes = options.routes;
  for (const route of routes) {
    for (const name of route.upstreams) {
      // The config file checks this with the file's line; a Routing made in code gets the same refusal.
      if (!upstreams.has(name)) throw new AppError('usage', `Route '${route.pattern}' names an unknown upstream '${name}'.`);
    }
  }
  let turn = 0;
  const warned = new Set<string>();

  const resolve = (model: string | undefined): RouteTarget | undefined => {
    if (!model) return undefined;
    const route = routes.find((r) => matchesRoute(r.pattern, model));
    return route ? { route, model: route.model ?? model } : undefined;
  };

  /** The replicas to try, in order: healthy ones least busy first (ties in turn), then those taken out (they may be back). */
  const candidates = (route: RouteSpec): Upstream[] => {
    const all = route.upstreams.map((name) => upstreams.get(name)!);
    turn = (turn + 1) % 1_000_000;
    const rotated = all.map((_, i) => all[(i + turn) % all.length]!);
    const order = (list: Upstream[]) => list.sort((a, b) => a.inFlight - b.inFlight);
    return [...order(rotated.filter((u) => u.healthy)), ...order(rotated.filter((u) => !u.healthy))];
  };

  const dispatchHeld: Routing['dispatchHeld'] = async (target, attempt) => {
    const failed: { upstream: string; error: UpstreamRetryable }[] = [];
    for (const upstream of candidates(target.route)) {
      noteUpstream(upstream.spec.name);
      const end = upstream.begin();
      try {
        return await attempt(upstream, end);
      } catch (error) {
        end(!isAbortError(error));
        if (!(error instanceof UpstreamRetryable)) throw error;
        failed.push({ upstream: upstream.spec.name, error });
      }
    }
    const last = failed.at(-1)!.error;
    if (failed.length === 1) throw last;
    // Every replica was tried: say what each did, so one down and one slow are told apart.
    const timedOut = failed.every((f) => f.error.code === 'upstream_timeout');
    throw new UpstreamRetryable(
      timedOut ? 'upstream_timeout' : 'upstream_error',
      `No replica of '${target.route.pattern}' answered: ${failed.map((f) => `${f.upstream} (${f.error.reason})`).join(', ')}.`,
      'Check the upstreams: `murmur ps` says which are down and why.',
      'no replica answered',
    );
  };

  const checkAll = async () => {
    await Promise.all([...upstreams.values()].map((u) => u.check()));
    if (!options.onWarning) return;
    for (const upstream of upstreams.values()) {
      for (const { id } of upstream.models) {
        const matching = routes.filter((r) => matchesRoute(r.pattern, id) && r.upstreams.includes(upstream.spec.name));
        const all = routes.filter((r) => matchesRoute(r.pattern, id));
        // A later literal name, or the same glob again, was warned about at start (routeWarnings): only other globs are news here.
        const news = all.slice(1).some((r, i) => isGlob(r.pattern) && !all.slice(0, i + 1).some((e) => e.pattern === r.pattern));
        if (news && matching.length > 0 && !warned.has(id)) {
          warned.add(id);
          options.onWarning(`'${id}' matches ${all.length} routes (${all.map((r) => `'${r.pattern}'${r.source ? ` at ${r.source}` : ''}`).join(', ')}); the first wins`);
        }
      }
    }
  };

  const timers: NodeJS.Timeout[] = [];
  if (options.checks !== false && upstreams.size > 0) {
    void checkAll();
    for (const upstream of upstreams.values()) {
      const timer = setInterval(() => void upstream.check(), upstream.spec.healthIntervalMs);
      timer.unref();
      timers.push(timer);
    }
  }

  return {
    resolve,
    dispatch: (target, attempt) =>
      dispatchHeld(target, async (upstream, end) => {
        const value = await attempt(upstream);
        end();
        return value;
      }),
    dispatchHeld,
    upstream: (name) => upstreams.get(name),
    upstreamsOf: (route) => route.upstreams.map((name) => upstreams.get(name)!),
    models() {
      const listed = new Map<string, ModelInfo>();
      const add = (name: string, route: RouteSpec, kind?: string) => {
        // A name an earlier route took is that route's.
        if (listed.has(name) || resolve(name)?.route !== route) return;
        listed.set(name, { name, kind: (kind as ModelKind | undefined) ?? 'llm', upstream: route.upstreams.join(',') });
      };
      for (const route of routes) {
        const served = route.upstreams.flatMap((name) => upstreams.get(name)!.models);
        if (!isGlob(route.pattern)) {
          add(route.pattern, route, served.find((m) => m.id === (route.model ?? route.pattern))?.kind);
          continue;
        }
        for (const model of served) if (matchesRoute(route.pattern, model.id)) add(model.id, route, model.kind);
      }
      return [...listed.values()];
    },
    status: () => [...upstreams.values()].map((u) => u.status()),
    checkAll,
    close() {
      for (const timer of timers) clearInterval(timer);
      for (const upstream of upstreams.values()) upstream.close();
    },
  };
};
