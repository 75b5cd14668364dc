import { Hono } from 'hono';
import { toAnthropicModel, toAnthropicModelList } from '../../api/anthropic/models.js';
import { toModelEntry, toModelList } from '../../api/openai/models.js';
import { openAiSpeechKind } from '../../runtime/speech-models.js';
import type { RouteDeps, ServerEnv } from '../context.js';

/**
 * `GET /models` and `GET /models/{id}`: the installed models, id = store
 * name. OpenAI's speech model names (`tts-1`, `whisper-1`, …) answer as the
 * audio routes take them: the entry of the model that serves them, under
 * the name asked for. Asked by Anthropic's clients (an `anthropic-version`
 * header), the answer is in Anthropic's Models API shape.
 */
export const modelsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .get('/models', async (c) => {
      const models = await deps.runtime.listModels();
      return c.json(c.req.header('anthropic-version') ? toAnthropicModelList(models) : toModelList(models));
    })
    .get('/models/:id{.+}', async (c) => {
      const id = c.req.param('id');
      c.set('model', id);
      const model = await deps.runtime.getModel(id);
      if (c.req.header('anthropic-version')) return c.json(toAnthropicModel(model));
      const entry = toModelEntry(model);
      return c.json(openAiSpeechKind(id) && entry.id !== id ? { ...entry, id } : entry);
    });
