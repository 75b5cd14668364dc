import { Hono } from 'hono';
import type { RouteDeps, ServerEnv } from '../context.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';

/** `GET /health` (never needs auth) and `GET /metrics` (Prometheus text). */
export const healthRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/health', (c) => c.json({ status: deps.shutdown.aborted ? 'stopping' : 'ok' }, deps.shutdown.aborted ? 503 : 200))
    .get('/metrics', async (c) => {
      const loaded = await deps.runtime.ps();
      return c.body(deps.metrics.render(loaded), 200, { 'Content-Type': METRICS_CONTENT_TYPE });
    });
