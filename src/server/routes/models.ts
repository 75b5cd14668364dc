import { Hono } from 'hono';
import { toModelEntry, toModelList } from '../../api/openai/models.js';
import { openAiSpeechKind } from '../../runtime/speech-models.js';
import type { RouteDeps, ServerEnv } from '../context.js';

/**
 * `GET /models` and `GET /models/{id}`: the installed models, id = store
 * name. OpenAI's speech model names (`tts-1`, `whisper-1`, …) answer as the
 * audio routes take them: the entry of the model that serves them, under
 * the name asked for.
 */
export const modelsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/models', async (c) => c.json(toModelList(await deps.runtime.listModels())))
    .get('/models/:id{.+}', async (c) => {
      const id = c.req.param('id');
      c.set('model', id);
      const entry = toModelEntry(await deps.runtime.getModel(id));
      return c.json(openAiSpeechKind(id) && entry.id !== id ? { ...entry, id } : entry);
    });
