import { Hono } from 'hono';
import { embeddingSchema, fromEmbeddingsRequest, toEmbeddingsList } from '../../api/openai/embeddings.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';

/** `POST /embeddings`: one string or a list; float or base64 vectors. */
export const embeddingsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/embeddings', async (c) => {
    const body = parseBody(embeddingSchema, await readJson(c));
    c.set('model', body.model);
    const result = await deps.runtime.embed({ ...fromEmbeddingsRequest(body), signal: requestSignal(c, deps) });
    c.get('tenant')?.charge(result.usage.promptTokens, 0);
    return c.json(toEmbeddingsList(result, body));
  });
