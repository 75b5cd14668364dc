import { Hono } from 'hono';
import type { RouteDeps, ServerEnv } from '../context.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';
import { packageVersion } from '../../project.js';

/**
 * `GET /health` (never needs auth) and `GET /metrics` (Prometheus text).
 *
 * /health answers 200 `{status:'ok', loading:[]}` when idle or serving and
 * 200 `{status:'loading', loading:[names]}` while a model load is in flight:
 * unlike llama-server (one model, 503 until it is loaded) murmur loads models
 * on demand beside others it keeps serving, so a load is no reason to fail a
 * health check. Only shutting down answers 503 `{status:'stopping'}`.
 * Each answer also says which daemon it is (`murmur status`): `version`,
 * `pid`, `started_at` and `uptime_s` (whole seconds since the app started).
 */
export const healthRoutes = (deps: RouteDeps) => {
  const startedAt = Date.now();
  const version = packageVersion();
  const about = () => ({ version, pid: process.pid, started_at: new Date(startedAt).toISOString(), uptime_s: Math.floor((Date.now() - startedAt) / 1000) });
  return new Hono<ServerEnv>()
    .get('/health', (c) => {
      if (deps.shutdown.aborted || deps.draining?.aborted) return c.json({ status: 'stopping', loading: [], ...about() }, 503);
      const loading = deps.runtime.loading?.() ?? [];
      return c.json({ status: loading.length ? 'loading' : 'ok', loading, ...about() }, 200);
    })
    .get('/metrics', async (c) => {
      const loaded = await deps.runtime.ps();
      const installed = new Set((await deps.runtime.listModels()).map((m) => m.name));
      return c.body(deps.metrics.render(loaded, installed, deps.runtime.engineHealth?.(), deps.runtime.routing?.status()), 200, { 'Content-Type': METRICS_CONTENT_TYPE });
    });
};
