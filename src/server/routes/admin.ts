import { Hono } from 'hono';
import { z } from 'zod';
import type { Catalog } from '../../catalog/catalog.js';
import { chatCompletionSchema, fromChatCompletionRequest } from '../../api/openai/chat-request.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { parseDuration } from '../../config.js';
import { AppError } from '../../errors.js';
import type { PullEvent } from '../../store/types.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { toHttpError } from '../errors.js';
import { streamResponse } from '../sse.js';

/**
 * murmur's own admin routes under `/murmur/v1` (and, for those Ollama's API does not shadow, `/api`), used by `pull`, `load`, `unload`,
 * `ps`, `rm` and `cp` through RemoteRuntime. Pull progress streams as NDJSON: one
 * PullEvent per line, then `{"status":"installed","model":{…}}` (or an
 * `{"error":{…}}` line).
 */

const keepAlive = z.union([z.number(), z.string().min(1)]).nullish();
const loadSchema = z.object({ model: z.string().min(1), keep_alive: keepAlive });
const unloadSchema = z.object({ model: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(), all: z.boolean().optional() });
const pullSchema = z.object({ model: z.string().min(1), name: z.string().min(1).optional(), force: z.boolean().optional() });
const copySchema = z.object({ source: z.string().min(1), destination: z.string().min(1) });

/** A keep-alive as ms: numbers are seconds (as in Ollama), strings durations (`5m`, `-1`, `250ms`). */
export const keepAliveMs = (value: number | string | null | undefined): number | undefined => {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value < 0 ? -1 : Math.round(value * 1000);
  try {
    return parseDuration(value);
  } catch (error) {
    throw new AppError('invalid_request', (error as Error).message, { param: 'keep_alive' });
  }
};

/** How the daemon is asked to stop over HTTP: the same path as SIGTERM (serve.ts), and its grace period in ms. */
export interface StopRequest {
  readonly request: () => void;
  readonly graceMs: number;
}

/**
 * The admin routes. With `stop`, also `POST /shutdown` (`murmur stop`): it
 * answers 202 `{status:'stopping', grace_ms}` and the daemon then stops as
 * on SIGTERM: new requests get 503, those in flight have the grace period.
 * It needs the API key like every route but /health.
 */
export const adminRoutes = (deps: RouteDeps, options: { readonly stop?: StopRequest } = {}) => {
  const routes = adminRoutesOf(deps);
  const stop = options.stop;
  if (!stop) return routes;
  return routes.post('/shutdown', (c) => {
    // After this reply is handed on: the drain then waits for it like any request in flight.
    setImmediate(stop.request);
    return c.json({ status: 'stopping', grace_ms: stop.graceMs }, 202);
  });
};

const adminRoutesOf = (deps: RouteDeps) => {
  // The catalog `murmur ls --all` lists (built-in plus MURMUR_CATALOG), read once on first need.
  let catalog: Promise<Catalog> | undefined;
  const catalogOf = () => (catalog ??= import('../../catalog/catalog.js').then(({ loadCatalog }) => loadCatalog({ userPath: deps.runtime.config.catalog })));
  return new Hono<ServerEnv>()
    .get('/models', async (c) => c.json({ models: await deps.runtime.listModels() }))
    // The upstreams routed models go to: health, load, counts (`murmur ps`, `murmur status`); none on a daemon without routes.
    .get('/upstreams', async (c) => c.json({ upstreams: (await deps.runtime.upstreams?.()) ?? [] }))
    // The catalog's entries, each marked installed or not (the page's Models view; read-only).
    .get('/catalog', async (c) => {
      const [entries, installed] = await Promise.all([catalogOf().then((found) => found.entries), deps.runtime.listModels()]);
      const names = new Set(installed.map((m) => m.name));
      return c.json({
        models: entries.map((e) => ({
          name: e.name,
          aliases: e.aliases ?? [],
          kind: e.kind,
          size: e.size,
          ...(e.installedSize ? { installedSize: e.installedSize } : {}),
          description: e.description,
          languages: e.languages,
          installed: names.has(e.name),
        })),
      });
    })
    .get('/models/:name{.+}', async (c) => {
      c.set('model', c.req.param('name'));
      return c.json(await deps.runtime.getModel(c.req.param('name')));
    })
    .delete('/models/:name{.+}', async (c) => {
      const name = c.req.param('name');
      c.set('model', name);
      await deps.runtime.remove(name);
      return c.json({ deleted: name });
    })
    .post('/copy', async (c) => {
      const body = parseBody(copySchema, await readJson(c));
      c.set('model', body.source);
      return c.json({ model: await deps.runtime.copy(body.source, body.destination) });
    })
    .get('/ps', async (c) => c.json({ models: await deps.runtime.ps() }))
    // The prompt tokens of a chat request (OpenAI's body), counted as a generation renders it, without generating.
    .post('/count_tokens', async (c) => {
      const body = parseBody(chatCompletionSchema, await readJson(c));
      c.set('model', body.model);
      return c.json({ prompt_tokens: await deps.runtime.countTokens({ ...fromChatCompletionRequest(body), signal: requestSignal(c, deps) }) });
    })
    .post('/load', async (c) => {
      const body = parseBody(loadSchema, await readJson(c));
      c.set('model', body.model);
      const loaded = await deps.runtime.load(body.model, { keepAliveMs: keepAliveMs(body.keep_alive), signal: requestSignal(c, deps) });
      return c.json({ model: loaded });
    })
    .post('/unload', async (c) => {
      const body = parseBody(unloadSchema, await readJson(c));
      if (!body.all && !body.model) throw new AppError('invalid_request', "Missing required parameter: 'model' (or send all: true).", { param: 'model' });
      const names = body.all ? 'all' : typeof body.model === 'string' ? [body.model] : body.model!;
      return c.json({ unloaded: await deps.runtime.unload(names) });
    })
    .post('/pull', async (c) => {
      const body = parseBody(pullSchema, await readJson(c));
      c.set('model', body.model);
      const encoder = new TextEncoder();
      const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
      // 'resolving' comes before anything is checked: lines wait until the pull passes its checks (a download, a wait, a reuse), so a refused or unknown model keeps its HTTP status.
      let held: Uint8Array[] | undefined = [];
      return streamResponse({
        signal: requestSignal(c, deps),
        start: (emit, signal) =>
          deps.runtime.pull(body.model, {
            name: body.name,
            force: body.force,
            signal,
            // A client names what the daemon fetches: only the catalog's hosts and MURMUR_PULL_HOSTS, public addresses, MURMUR_IMPORT_DIRS.
            restrict: { hosts: deps.runtime.config.pullHosts ?? [], importDirs: deps.runtime.config.importDirs ?? [] },
            onProgress: (event: PullEvent) => {
              if (held && event.status === 'resolving') return void held.push(line(event));
              for (const bytes of held ?? []) emit(bytes);
              held = undefined;
              emit(line(event));
            },
          }),
        tail: (model) => [...(held ?? []), line({ status: 'installed', model })],
        failure: (error) => {
          const answer = toHttpError(error);
          // The 200 went out with the progress lines: the log says what went wrong instead.
          c.set('streamError', answer.body.error.message);
          return line(answer.body);
        },
        headers: () => ({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-cache' }),
      });
    });
};
