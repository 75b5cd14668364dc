import { Hono } from 'hono';
import { toModelEntry, toModelList } from '../../api/openai/models.js';
import type { RouteDeps, ServerEnv } from '../context.js';

/** `GET /models` and `GET /models/{id}`: the installed models, id = store name. */
export const modelsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/models', async (c) => c.json(toModelList(await deps.runtime.listModels())))
    .get('/models/:id{.+}', async (c) => {
      const id = c.req.param('id');
      c.set('model', id);
      return c.json(toModelEntry(await deps.runtime.getModel(id)));
    });
