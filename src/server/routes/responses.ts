import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { fromInputItems, toChatMessages, type ItemReference, type ResponseItem } from '../../api/openai/responses-items.js';
import { checkResponsesRequest, fromResponsesRequest, parseResponsesRequest } from '../../api/openai/responses-request.js';
import { completeResponse, toResponseShell, type ResponseDeleted } from '../../api/openai/responses-response.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { AppError } from '../../errors.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { createBackgroundRuns } from '../responses-background.js';
import type { ResponseStore } from '../responses-store.js';
import { streamResponseEvents } from '../responses-stream.js';

export interface ResponsesRouteOptions {
  /** Where stored responses live; it is closed at shutdown, once background runs have settled. */
  readonly store: ResponseStore;
  /** The daemon's key, when it has one: responses are then visible only to the key that made them. */
  readonly apiKey?: string;
}

const listQuery = z.object({
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
});

const notFound = (id: string) => new AppError('response_not_found', `Response with id '${id}' not found.`, { hint: 'It may never have been stored (store: false), or been deleted, or expired (MURMUR_RESPONSES_TTL, MURMUR_RESPONSES_MAX).' });

/**
 * Who a request is, for stored responses: a hash of its bearer key on a
 * daemon with keys (the auth middleware checked it), null otherwise.
 */
const ownerOf = (c: Context<ServerEnv>, apiKey: string | undefined): string | null => {
  // With config file keys (tenants.ts) every request has a tenant: each key sees only its own responses, as with one key.
  if (!apiKey && !c.get('tenant')) return null;
  const key = /^Bearer\s+(.+)$/i.exec((c.req.header('Authorization') ?? '').trim())?.[1] ?? '';
  return createHash('sha256').update(`murmur-responses\0${key}`).digest('hex');
};

/** `input` with each item_reference replaced by the stored item it names (one of the same owner's). */
const resolveReferences = (items: readonly (ResponseItem | ItemReference)[], store: ResponseStore, owner: string | null): ResponseItem[] => {
  const ids = items.filter((item): item is ItemReference => item.type === 'item_reference').map((item) => item.id);
  const found = ids.length ? store.items(ids, owner) : new Map<string, ResponseItem>();
  return items.map((item, i) => {
    if (item.type !== 'item_reference') return item;
    const stored = found.get(item.id);
    if (!stored) throw new AppError('invalid_request', `Item with id '${item.id}' not found.`, { param: `input[${i}].id` });
    return stored;
  });
};

/** `POST /responses`, `GET|DELETE /responses/{id}`, `POST /responses/{id}/cancel`, `GET /responses/{id}/input_items`. */
/** Chat's names for the fields a Responses request has its own names for. */
const RENAMED: readonly [RegExp, string][] = [
  [/^response_format\.json_schema\.schema/, 'text.format.schema'],
  [/^response_format/, 'text.format'],
  [/^messages/, 'input'],
  [/^max_completion_tokens|^max_tokens/, 'max_output_tokens'],
];
/** The error as a Responses request names its fields. */
const renamed = (error: unknown): unknown => {
  if (!(error instanceof AppError) || !error.param) return error;
  const rule = RENAMED.find(([from]) => from.test(error.param!));
  if (!rule) return error;
  const param = error.param.replace(rule[0], rule[1]);
  return new AppError(error.code, error.message.replaceAll(error.param, param), { param, ...(error.hint ? { hint: error.hint } : {}), cause: error });
};

export const responsesRoutes = (deps: RouteDeps, options: ResponsesRouteOptions) => {
  const { store } = options;
  const background = createBackgroundRuns(store, deps.shutdown);
  const chat = (request: Parameters<RouteDeps['runtime']['chat']>[0]) => deps.runtime.chat(request).catch((error: unknown) => Promise.reject(renamed(error)));
  deps.shutdown.addEventListener('abort', () => void background.settled().then(() => store.close()), { once: true });

  return new Hono<ServerEnv>()
    .post('/responses', async (c) => {
      const body = parseResponsesRequest(await readJson(c));
      c.set('model', body.model);
      checkResponsesRequest(body);
      const owner = ownerOf(c, options.apiKey);
      const stored = body.store ?? true;
      let history: ResponseItem[] = [];
      if (body.previous_response_id) {
        const id = body.previous_response_id;
        const previous = store.get(id, owner);
        if (!previous) throw new AppError('previous_response_not_found', `Previous response with id '${id}' not found.`, { param: 'previous_response_id' });
        if (previous.status === 'queued' || previous.status === 'in_progress') {
          throw new AppError('invalid_request', `Previous response with id '${id}' is still ${previous.status}; wait for it to finish.`, { param: 'previous_response_id' });
        }
        history = store.conversation(id, owner);
      }
      const input = resolveReferences(fromInputItems(body.input), store, owner);
      let request: ReturnType<typeof fromResponsesRequest>;
      try {
        request = fromResponsesRequest(body, toChatMessages(body.instructions, history, input));
      } catch (error) {
        throw renamed(error);
      }
      // A response to be stored needs the store: say so before generating anything.
      if (stored) store.open();
      const record = generationRecorder(deps.metrics, body.model, body.background ? deps.shutdown : requestSignal(c, deps), c.get('tenant'));

      if (body.background) {
        const shell = toResponseShell(body, 'queued');
        store.insert(shell, input, owner);
        background.start(shell, owner, (signal) => chat({ ...request, signal }), record);
        return c.json(shell);
      }

      const shell = toResponseShell(body);
      const signal = requestSignal(c, deps);
      if (!body.stream) {
        const result = await chat({ ...request, signal }).catch((error: unknown) => {
          record(undefined, error);
          throw error;
        });
        record(result);
        const response = completeResponse(shell, result);
        if (stored) store.insert(response, input, owner);
        return c.json(response);
      }
      return streamResponseEvents({
        signal,
        shell,
        chat: (callbacks) => chat({ ...request, ...callbacks }),
        settle: (response) => {
          if (stored) store.insert(response, input, owner);
        },
        onEnd: record,
      });
    })
    .get('/responses/:id', (c) => {
      if (c.req.query('stream') === 'true') throw new AppError('not_supported', 'murmur does not stream stored responses; GET it without stream to read it.', { param: 'stream' });
      const id = c.req.param('id');
      const response = store.get(id, ownerOf(c, options.apiKey));
      if (!response) throw notFound(id);
      return c.json(response);
    })
    .delete('/responses/:id', async (c) => {
      const id = c.req.param('id');
      const owner = ownerOf(c, options.apiKey);
      const running = background.cancel(id, owner);
      if (running) await running;
      if (!store.remove(id, owner)) throw notFound(id);
      const deleted: ResponseDeleted = { id, object: 'response', deleted: true };
      return c.json(deleted);
    })
    .post('/responses/:id/cancel', async (c) => {
      const id = c.req.param('id');
      const owner = ownerOf(c, options.apiKey);
      const running = background.cancel(id, owner);
      if (running) return c.json(await running);
      const response = store.get(id, owner);
      if (!response) throw notFound(id);
      if (!response.background) throw new AppError('invalid_request', 'Only background responses can be cancelled.', { param: 'response_id' });
      if (response.status === 'cancelled') return c.json(response);
      throw new AppError('invalid_request', `Cannot cancel ${response.status === 'incomplete' ? 'an' : 'a'} ${response.status} response.`, { param: 'response_id', hint: 'Only a background response still queued or in progress can be cancelled.' });
    })
    .get('/responses/:id/input_items', (c) => {
      const id = c.req.param('id');
      const query = parseBody(listQuery, c.req.query());
      const page = store.inputItems(id, ownerOf(c, options.apiKey), query);
      if (!page) throw notFound(id);
      return c.json({ object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.has_more });
    });
};
