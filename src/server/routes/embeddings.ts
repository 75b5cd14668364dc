import { Hono } from 'hono';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { AppError } from '../../errors.js';
import { embeddingSchema, parseBody } from '../openai.js';
import { embeddingsBody } from '../openai-shapes.js';

/** `POST /embeddings`: one string or a list; float or base64 vectors. */
export const embeddingsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/embeddings', async (c) => {
    const body = parseBody(embeddingSchema, await readJson(c));
    c.set('model', body.model);
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    if (input.some((text) => text.length === 0)) {
      throw new AppError('invalid_request', "Invalid value for 'input': strings must not be empty.", { param: 'input' });
    }
    const result = await deps.runtime.embed({ model: body.model, input, signal: requestSignal(c, deps) });
    if (body.dimensions && result.embeddings[0] && body.dimensions !== result.embeddings[0].length) {
      throw new AppError('not_supported', `'${body.model}' makes ${result.embeddings[0].length}-dimensional embeddings; it cannot make ${body.dimensions}.`, { param: 'dimensions' });
    }
    return c.json(embeddingsBody(result, body.encoding_format ?? 'float'));
  });
