import { Hono } from 'hono';
import type { RouteDeps, ServerEnv } from '../context.js';
import { modelEntry } from '../openai-shapes.js';

/** `GET /models` and `GET /models/{id}`: the installed models, id = store name. */
export const modelsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/models', async (c) => {
      const models = await deps.runtime.listModels();
      return c.json({ object: 'list', data: models.map(modelEntry) });
    })
    .get('/models/:id{.+}', async (c) => {
      const id = c.req.param('id');
      c.set('model', id);
      return c.json(modelEntry(await deps.runtime.getModel(id)));
    });
