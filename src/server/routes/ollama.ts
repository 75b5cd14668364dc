import { isAbsolute, join } from 'node:path';
import { Hono, type Context } from 'hono';
import {
  chatSchema,
  copySchema,
  deleteSchema,
  embeddingsSchema,
  embedSchema,
  OLLAMA_API_VERSION,
  fromChatRequest,
  fromGenerateRequest,
  generateSchema,
  modelName,
  pullSchema,
  showSchema,
  toFinalStats,
  toOllamaError,
  toPsEntry,
  toPullStatus,
  toShow,
  toTagsEntry,
  toToolCalls,
  type GgufFacts,
} from '../../api/ollama/wire.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { AppError } from '../../errors.js';
import { packageVersion } from '../../project.js';
import { readGgufMetadata } from '../../store/gguf-metadata.js';
import type { PullEvent } from '../../store/types.js';
import type { GenerationResult } from '../../types/chat.js';
import type { ModelInfo } from '../../types/models.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { streamResponse } from '../sse.js';
import { keepAliveMs } from './admin.js';

/*
 * Ollama's native API (src/api/ollama/wire.ts holds its shapes): `GET /`
 * (the probe clients send), `/api/version`, `/api/tags`, `/api/show`,
 * `/api/chat` and `/api/generate` (NDJSON streams unless `stream: false`),
 * `/api/embed` and `/api/embeddings`, `/api/ps`, `/api/pull` (streamed
 * status lines unless `stream: false`) and `DELETE /api/delete`. Errors on
 * these paths are Ollama's `{error}` (server/errors.ts); one after a stream
 * began is its last line. murmur's own admin routes, whose `/api/ps` and
 * `/api/pull` these shadow, are under `/murmur/v1` (routes/admin.ts).
 */

const encoder = new TextEncoder();
const line = (value: unknown): Uint8Array => encoder.encode(`${JSON.stringify(value)}\n`);
const NDJSON_HEADERS = { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-cache' } as const;

const FACT_KEYS = [
  'general.architecture',
  'general.name',
  'general.size_label',
  'general.file_type',
  'general.parameter_count',
  'general.basename',
  'tokenizer.ggml.model',
  'tokenizer.chat_template',
  // Fill-in-the-middle tokens, under llama.cpp's current names and its older ones.
  'tokenizer.ggml.fim_pre_token_id',
  'tokenizer.ggml.fim_suf_token_id',
  'tokenizer.ggml.prefix_token_id',
  'tokenizer.ggml.suffix_token_id',
];

/** The GGUF header facts of a local model (its file is read; a remote runtime's models have none to read). */
const ggufFacts = async (model: ModelInfo): Promise<GgufFacts> => {
  const installed = model as ModelInfo & { dir?: string; layout?: Record<string, string> };
  if (model.engine !== 'llama-cpp' || !installed.dir || !installed.layout?.model) return {};
  try {
    const { metadata } = await readGgufMetadata(join(installed.dir, installed.layout.model));
    const arch = String(metadata['general.architecture'] ?? '');
    const keys = new Set([...FACT_KEYS, ...Object.keys(metadata).filter((k) => arch && k.startsWith(`${arch}.`))]);
    const facts: Record<string, string | number | boolean> = {};
    for (const key of keys) {
      const value = metadata[key];
      if (value !== undefined) facts[key] = typeof value === 'bigint' ? Number(value) : value;
    }
    return facts;
  } catch {
    return {};
  }
};

/** Whether a model came from a path on this machine (not the catalog, an hf: URI or a URL). */
const isLocalSource = (source: string | undefined): boolean => !!source && (isAbsolute(source) || /^\.{1,2}[\\/]/.test(source));

const isTextModel = (model: ModelInfo) => model.kind === 'llm' || model.kind === 'embedding';

export const ollamaRoutes = (deps: RouteDeps) => {
  /** Loads the model first (so an unknown one is a 404 before any line, and keep_alive applies); resolves with the ms it took. */
  const prepare = async (model: string, keepAlive: number | string | null | undefined, signal: AbortSignal): Promise<number> => {
    const started = performance.now();
    const ms = keepAliveMs(keepAlive);
    // keep_alive 0 (unload once answered) is done by finish: a load told 0 would unload before the generation.
    await deps.runtime.load(model, { keepAliveMs: ms === 0 ? undefined : ms, signal });
    return performance.now() - started;
  };
  /** After a request: keep_alive 0 unloads the model. */
  const finish = (model: string, keepAlive: number | string | null | undefined) => {
    if (keepAliveMs(keepAlive) === 0) void deps.runtime.unload([model]).catch(() => {});
  };

  /** A bare `/api/generate` or `/api/chat` (no prompt, no messages): loads the model, or with keep_alive 0 unloads it. */
  const loadOnly = async (name: string, keepAlive: number | string | null | undefined, signal: AbortSignal, field: 'response' | 'message') => {
    const model = modelName(name);
    const unload = keepAliveMs(keepAlive) === 0;
    if (unload) {
      await deps.runtime.getModel(model);
      await deps.runtime.unload([model]);
    } else await prepare(model, keepAlive, signal);
    const reply = field === 'response' ? { response: '' } : { message: { role: 'assistant', content: '' } };
    return { model: name, created_at: new Date().toISOString(), ...reply, done: true, done_reason: unload ? 'unload' : 'load' };
  };

  /** Runs a generation whole or as NDJSON: `piece` is one line's body for a piece of text, `whole` the body of the result, both beside model, created_at and done. */
  const generate = async (
    c: Context<ServerEnv>,
    plan: {
      readonly name: string;
      readonly model: string;
      readonly stream: boolean;
      readonly keepAlive: number | string | null | undefined;
      readonly run: (onToken: (text: string) => void, onThought: (text: string) => void, signal: AbortSignal) => Promise<GenerationResult>;
      readonly piece: (text: string) => Record<string, unknown>;
      /** One line's body for a piece of a thinking model's thought. */
      readonly thought: (text: string) => Record<string, unknown>;
      readonly whole: (result: GenerationResult, streamed: boolean) => Record<string, unknown>;
    },
  ) => {
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, plan.model, signal, c.get('tenant'));
    const started = performance.now();
    const stamp = () => ({ model: plan.name, created_at: new Date().toISOString() });
    let loadMs = 0;
    const run = async (onToken: (text: string) => void, onThought: (text: string) => void, s: AbortSignal) => {
      loadMs = await prepare(plan.model, plan.keepAlive, s);
      return plan.run(onToken, onThought, s);
    };
    const final = (result: GenerationResult, streamed: boolean) => ({ ...stamp(), ...plan.whole(result, streamed), done: true, ...toFinalStats(result, loadMs, performance.now() - started) });
    if (!plan.stream) {
      const result = await run(() => {}, () => {}, signal)
        .catch((error: unknown) => {
          record(undefined, error);
          throw error;
        })
        .finally(() => finish(plan.model, plan.keepAlive));
      record(result);
      return c.json(final(result, false));
    }
    return streamResponse<GenerationResult>({
      signal,
      start: (emit, s) =>
        run(
          (text) => void (text && emit(line({ ...stamp(), ...plan.piece(text), done: false }))),
          (text) => void (text && emit(line({ ...stamp(), ...plan.thought(text), done: false }))),
          s,
        ),
      tail: (result) => [line(final(result, true))],
      failure: (error) => {
        c.set('streamError', error instanceof Error ? error.message : String(error));
        return line(toOllamaError(error, plan.model).body);
      },
      headers: () => ({ ...NDJSON_HEADERS }),
      onEnd: (result, error) => {
        record(result, error);
        finish(plan.model, plan.keepAlive);
      },
    });
  };

  return new Hono<ServerEnv>()
    .get('/', (c) => c.text('Ollama is running'))
    .on('HEAD', '/', (c) => c.body(null, 200, { 'Content-Type': 'text/plain; charset=utf-8' }))
    // Ollama's clients compare this with the Ollama version whose API they need: murmur names the one whose API it speaks, and its own beside it.
    .get('/api/version', (c) => c.json({ version: OLLAMA_API_VERSION, murmur: packageVersion() }))
    .get('/api/tags', async (c) => {
      const models = (await deps.runtime.listModels()).filter(isTextModel);
      return c.json({ models: await Promise.all(models.map(async (m) => toTagsEntry(m, await ggufFacts(m)))) });
    })
    .post('/api/show', async (c) => {
      const body = parseBody(showSchema, await readJson(c));
      const name = body.model ?? body.name;
      if (!name) throw new AppError('invalid_request', "Missing required parameter: 'model'.", { param: 'model' });
      c.set('model', modelName(name));
      const model = await deps.runtime.getModel(modelName(name));
      if (!isTextModel(model)) throw new AppError('model_not_found', `model '${name}' not found`, { param: 'model' });
      return c.json(toShow(model, await ggufFacts(model)));
    })
    .post('/api/chat', async (c) => {
      const body = parseBody(chatSchema, await readJson(c));
      c.set('model', modelName(body.model));
      const request = fromChatRequest(body);
      if (!body.messages?.length) return c.json(await loadOnly(body.model, body.keep_alive, requestSignal(c, deps), 'message'));
      return generate(c, {
        name: body.model,
        model: request.model,
        stream: body.stream !== false,
        keepAlive: body.keep_alive,
        run: (onToken, onThought, signal) => deps.runtime.chat({ ...request, onToken, onThought, signal }),
        piece: (text) => ({ message: { role: 'assistant', content: text } }),
        thought: (text) => ({ message: { role: 'assistant', content: '', thinking: text } }),
        whole: (result, streamed) => ({
          message: {
            role: 'assistant',
            content: streamed ? '' : result.text,
            ...(!streamed && result.reasoning ? { thinking: result.reasoning } : {}),
            ...(result.toolCalls?.length ? { tool_calls: toToolCalls(result.toolCalls) } : {}),
          },
        }),
      });
    })
    .post('/api/generate', async (c) => {
      const body = parseBody(generateSchema, await readJson(c));
      c.set('model', modelName(body.model));
      const plan = fromGenerateRequest(body);
      if (!body.prompt && !body.system) return c.json(await loadOnly(body.model, body.keep_alive, requestSignal(c, deps), 'response'));
      return generate(c, {
        name: body.model,
        model: plan.request.model,
        stream: body.stream !== false,
        keepAlive: body.keep_alive,
        run: (onToken, onThought, signal) =>
          plan.raw ? deps.runtime.complete({ ...plan.request, onToken, signal }) : deps.runtime.chat({ ...plan.request, onToken, onThought, signal }),
        piece: (text) => ({ response: text }),
        thought: (text) => ({ response: '', thinking: text }),
        whole: (result, streamed) => ({ response: streamed ? '' : result.text, ...(!streamed && result.reasoning ? { thinking: result.reasoning } : {}) }),
      });
    })
    .post('/api/embed', async (c) => {
      const body = parseBody(embedSchema, await readJson(c));
      const model = modelName(body.model);
      c.set('model', model);
      const signal = requestSignal(c, deps);
      const started = performance.now();
      const loadMs = await prepare(model, body.keep_alive, signal);
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      // As Ollama: an input too long is cut unless truncate is false; no input is no vectors.
      const result = input.length
        ? await deps.runtime
            .embed({ model, input, truncate: body.truncate !== false, ...(body.dimensions ? { dimensions: body.dimensions } : {}), signal })
            .finally(() => finish(model, body.keep_alive))
        : { embeddings: [], usage: { promptTokens: 0, totalTokens: 0 } };
      c.get('tenant')?.charge(result.usage.promptTokens, 0);
      const ns = (ms: number) => Math.round(ms * 1_000_000);
      return c.json({ model: body.model, embeddings: result.embeddings, total_duration: ns(performance.now() - started), load_duration: ns(loadMs), prompt_eval_count: result.usage.promptTokens });
    })
    .get('/api/ps', async (c) => {
      const loaded = await deps.runtime.ps();
      const installed = new Map((await deps.runtime.listModels()).map((m) => [m.name, m]));
      const text = loaded.filter((m) => m.kind === 'llm' || m.kind === 'embedding');
      return c.json({ models: await Promise.all(text.map(async (m) => toPsEntry(m, installed.get(m.name), installed.has(m.name) ? await ggufFacts(installed.get(m.name)!) : {}))) });
    })
    .post('/api/pull', async (c) => {
      const body = parseBody(pullSchema, await readJson(c));
      const ref = body.model ?? body.name;
      if (!ref) throw new AppError('invalid_request', "Missing required parameter: 'model'.", { param: 'model' });
      c.set('model', ref);
      const signal = requestSignal(c, deps);
      // A model installed from a local file or folder has nowhere to be pulled again from: it is up to date, as Ollama says of one.
      const installed = await deps.runtime.getModel(modelName(ref)).catch(() => undefined);
      if (installed && isLocalSource(installed.source)) {
        return body.stream === false ? c.json({ status: 'success' }) : c.body(`${JSON.stringify({ status: 'success' })}\n`, 200, { ...NDJSON_HEADERS });
      }
      // A client names what the daemon fetches: the same bounds as murmur's own /murmur/v1/pull.
      const options = { signal, restrict: { hosts: deps.runtime.config.pullHosts ?? [], importDirs: deps.runtime.config.importDirs ?? [] } };
      if (body.stream === false) {
        await deps.runtime.pull(ref, options);
        return c.json({ status: 'success' });
      }
      // 'pulling manifest' waits until the pull passes its checks, so a refused or unknown model keeps its HTTP status.
      let held: Uint8Array[] | undefined = [];
      return streamResponse({
        signal,
        start: (emit, s) =>
          deps.runtime.pull(ref, {
            ...options,
            signal: s,
            onProgress: (event: PullEvent) => {
              const status = toPullStatus(event);
              if (!status) return;
              if (held && event.status === 'resolving') return void held.push(line(status));
              for (const bytes of held ?? []) emit(bytes);
              held = undefined;
              emit(line(status));
            },
          }),
        tail: () => [...(held ?? []), line({ status: 'success' })],
        failure: (error) => {
          c.set('streamError', error instanceof Error ? error.message : String(error));
          return line(toOllamaError(error, ref).body);
        },
        headers: () => ({ ...NDJSON_HEADERS }),
      });
    })
    .delete('/api/delete', async (c) => {
      const body = parseBody(deleteSchema, await readJson(c));
      const name = body.model ?? body.name;
      if (!name) throw new AppError('invalid_request', "Missing required parameter: 'model'.", { param: 'model' });
      c.set('model', modelName(name));
      await deps.runtime.remove(modelName(name));
      return c.body(null, 200);
    })
    .post('/api/embeddings', async (c) => {
      const body = parseBody(embeddingsSchema, await readJson(c));
      const model = modelName(body.model);
      c.set('model', model);
      const signal = requestSignal(c, deps);
      await prepare(model, body.keep_alive, signal);
      const result = await deps.runtime.embed({ model, input: [body.prompt], signal }).finally(() => finish(model, body.keep_alive));
      c.get('tenant')?.charge(result.usage.promptTokens, 0);
      return c.json({ embedding: result.embeddings[0] ?? [] });
    })
    // What murmur has no counterpart for says so, rather than a bare 404.
    .post('/api/create', () => {
      throw new AppError('not_supported', 'murmur does not create models from a Modelfile: /api/create is not supported.', { hint: 'Pull a GGUF instead: POST /api/pull, or `murmur pull hf:owner/repo/file.gguf`.' });
    })
    .post('/api/push', () => {
      throw new AppError('not_supported', 'murmur does not push models to a registry: /api/push is not supported.');
    })
    .post('/api/copy', async (c) => {
      const body = parseBody(copySchema, await readJson(c));
      c.set('model', modelName(body.source));
      await deps.runtime.copy(modelName(body.source), modelName(body.destination));
      return c.body(null, 200);
    });
};
