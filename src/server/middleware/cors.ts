import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * CORS for `origins` ('*' among them allows any): the Authorization and
 * Content-Type request headers, Retry-After and x-request-id readable,
 * preflights cached ten minutes.
 */
export const corsFor = (origins: readonly string[]): MiddlewareHandler =>
  cors({ origin: origins.includes('*') ? '*' : [...origins], allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: ['Retry-After', 'x-request-id'], maxAge: 600 });
