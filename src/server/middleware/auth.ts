import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.js';
import type { ServerEnv } from '../context.js';
import type { Tenants } from '../tenants.js';

/**
 * Paths that answer without a key: health checks come from load balancers
 * and service managers, and Ollama's clients probe `/` and `/api/version`
 * before they send anything else (Ollama has no keys); none of them says
 * more than that the daemon runs and its version.
 */
const OPEN_PATHS: readonly string[] = ['/health', '/', '/api/version'];

/** Compares two keys in constant time, length included: both sides are hashed first, so a wrong key's length tells nothing. */
export const sameKey = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

const hint = 'Set MURMUR_API_KEY to the key the daemon was started with (or one of its config file\'s keys).';

/**
 * Requires `Authorization: Bearer KEY`, KEY one of `tenants` (MURMUR_API_KEY
 * or a config file key), on every request but the open paths, CORS
 * preflights (OPTIONS), and WebSocket upgrades of `webSocketPaths`, which
 * check it themselves; each key is compared in constant time. On paths
 * `xApiKeyOn` accepts (Anthropic's door), the key may come as `x-api-key`
 * instead, as Anthropic's clients send it. Missing or wrong keys are a 401
 * `invalid_api_key`. The key's tenant goes on the context (`tenant`) for
 * tenantLimits(), the log and token charging.
 */
export const requireApiKey = (tenants: Pick<Tenants, 'identify'>, webSocketPaths: readonly string[] = [], xApiKeyOn: (path: string) => boolean = () => false): MiddlewareHandler<ServerEnv> => async (c, next) => {
  // The page's own files need no key either: the page asks for it, and every API call it makes sends it.
  if (OPEN_PATHS.includes(c.req.path) || c.req.path.startsWith('/web/assets/') || c.req.method === 'OPTIONS') return next();
  // A WebSocket route checks the key itself (a browser sends it as a subprotocol) and refuses with close code 1008.
  if (webSocketPaths.includes(c.req.path) && c.req.header('Upgrade')?.toLowerCase() === 'websocket') return next();
  const header = c.req.header('Authorization') ?? '';
  const either = xApiKeyOn(c.req.path);
  const given = /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] ?? ((either && c.req.header('x-api-key')?.trim()) || undefined);
  if (!given) throw new AppError('unauthorized', `You didn't provide an API key. Send it as 'Authorization: Bearer KEY'${either ? " or 'x-api-key: KEY'" : ''}.`, { hint });
  const tenant = tenants.identify(given);
  if (!tenant) throw new AppError('unauthorized', 'Incorrect API key provided.', { hint });
  c.set('tenant', tenant);
  return next();
};
