import { Hono } from 'hono';
import type { RouteDeps, ServerEnv } from '../context.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';

/**
 * `GET /health` (never needs auth) and `GET /metrics` (Prometheus text).
 *
 * /health answers 200 `{status:'ok', loading:[]}` when idle or serving and
 * 200 `{status:'loading', loading:[names]}` while a model load is in flight:
 * unlike llama-server (one model, 503 until it is loaded) murmur loads models
 * on demand beside others it keeps serving, so a load is no reason to fail a
 * health check. Only shutting down answers 503 `{status:'stopping'}`.
 */
export const healthRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/health', (c) => {
      if (deps.shutdown.aborted || deps.draining?.aborted) return c.json({ status: 'stopping', loading: [] }, 503);
      const loading = deps.runtime.loading?.() ?? [];
      return c.json({ status: loading.length ? 'loading' : 'ok', loading }, 200);
    })
    .get('/metrics', async (c) => {
      const loaded = await deps.runtime.ps();
      const installed = new Set((await deps.runtime.listModels()).map((m) => m.name));
      return c.body(deps.metrics.render(loaded, installed, deps.runtime.engineHealth?.()), 200, { 'Content-Type': METRICS_CONTENT_TYPE });
    });
