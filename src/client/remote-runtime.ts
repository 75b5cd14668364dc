import type { Config } from '../config.js';
import { AppError, isAbortError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { ChatMessage, ChatRequest, CompletionRequest, EmbedResult, GenerationResult } from '../types/chat.js';
import type { LoadedModel } from '../types/models.js';
import type { VoiceList } from '../types/speech.js';
import type { InstalledModel, PullEvent } from '../store/types.js';
import { fromErrorBody } from '../server/errors.js';
import { concatFloat32 } from '../audio/pcm.js';
import { createSpeechSession } from '../runtime/speech-session.js';
import { readNdjson } from './event-stream.js';
import { readGeneration, type GenerationKind } from './remote-generation.js';
import { remoteSpeak } from './remote-speech.js';
import { remoteTranscribe } from './remote-transcribe.js';

export interface RemoteRuntimeOptions {
  /** The daemon's base URL, e.g. http://127.0.0.1:11470. Default: config.host. */
  readonly baseUrl?: string;
  /** Bearer key; default config.apiKey. */
  readonly apiKey?: string;
  readonly fetch?: typeof fetch;
}

const reviveLoaded = (raw: Record<string, unknown>): LoadedModel =>
  ({ ...raw, loadedAt: new Date(raw.loadedAt as string), expiresAt: raw.expiresAt ? new Date(raw.expiresAt as string) : null }) as LoadedModel;

/** A model entry from a plain OpenAI `/v1/models`, as far as it can be an InstalledModel. */
const fromOpenAIModel = (entry: { id: string; created?: number; kind?: string }): InstalledModel => ({
  name: entry.id,
  kind: (entry.kind as InstalledModel['kind']) ?? 'llm',
  engine: 'llama-cpp',
  family: 'gguf',
  source: 'remote',
  layout: {},
  files: [],
  size: 0,
  pulledAt: new Date((entry.created ?? 0) * 1000).toISOString(),
  dir: '',
});

const messageBody = (m: ChatMessage) => ({
  role: m.role,
  content: m.role === 'assistant' && m.toolCalls?.length && !m.content ? null : m.content,
  ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
  ...(m.toolCallId ? { tool_call_id: m.toolCallId } : {}),
});

const samplingBody = (r: ChatRequest | CompletionRequest) => ({
  model: r.model,
  ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
  ...(r.topP !== undefined ? { top_p: r.topP } : {}),
  ...(r.seed !== undefined ? { seed: r.seed } : {}),
  ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}),
  ...(r.stop?.length ? { stop: [...r.stop] } : {}),
  ...(r.onToken ? { stream: true, stream_options: { include_usage: true } } : {}),
});

const chatBody = (r: ChatRequest) => ({
  ...samplingBody(r),
  messages: r.messages.map(messageBody),
  ...(r.responseFormat && r.responseFormat.type !== 'text'
    ? {
        response_format:
          r.responseFormat.type === 'json_object'
            ? { type: 'json_object' }
            : { type: 'json_schema', json_schema: { name: r.responseFormat.name ?? 'response', schema: r.responseFormat.schema, strict: true } },
      }
    : {}),
  ...(r.tools?.length ? { tools: r.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) } : {}),
  ...(r.toolChoice ? { tool_choice: typeof r.toolChoice === 'string' ? r.toolChoice : { type: 'function', function: { name: r.toolChoice.name } } } : {}),
});

/**
 * A Runtime over HTTP: a murmur daemon's OpenAI routes and `/api` admin
 * routes. Chat and completions stream (SSE) when `onToken` is given. Against
 * a plain OpenAI-compatible server, models are listed from `/v1/models` and
 * the admin calls fail with the server's error.
 */
export const createRemoteRuntime = (config: Config, options: RemoteRuntimeOptions = {}): Runtime => {
  const base = (options.baseUrl ?? config.host).replace(/\/+$/, '');
  const apiKey = options.apiKey ?? config.apiKey;
  const doFetch = options.fetch ?? fetch;

  const send = async (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        signal,
        headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (isAbortError(error) || signal?.aborted) throw error;
      throw new AppError('daemon_unreachable', `No murmur daemon answers at ${base}.`, { hint: 'Start one with `murmur serve`, or set MURMUR_HOST.', cause: error });
    }
    if (!res.ok) throw fromErrorBody(res.status, await res.json().catch(() => undefined));
    return res;
  };
  const getJson = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> =>
    (await (await send(method, path, body, signal)).json()) as T;

  /** True when an admin route is missing (a plain OpenAI server, not murmur). */
  const missingRoute = (error: unknown) => error instanceof AppError && error.code === 'model_not_found' && /Invalid URL|Not Found|^The daemon answered/i.test(error.message);

  const generate = async (kind: GenerationKind, path: string, body: object, request: ChatRequest | CompletionRequest): Promise<GenerationResult> => {
    const started = performance.now();
    const res = await send('POST', path, body, request.signal);
    return readGeneration(kind, res, request, started);
  };

  return {
    config,
    speak: (request) => remoteSpeak(send, request),
    // Until the daemon's session doors exist, a remote session speaks each ready batch of sentences with one request.
    openSpeech: async (options = {}) =>
      createSpeechSession({
        model: options.model,
        voice: options.voice,
        signal: options.signal,
        synthesize: async (text, signal) => {
          const parts: Float32Array[] = [];
          let sampleRate = 0;
          await remoteSpeak(send, {
            model: options.model,
            voice: options.voice,
            speed: options.speed,
            text,
            signal,
            onAudio: (chunk) => {
              parts.push(chunk.samples);
              sampleRate = chunk.sampleRate;
            },
          });
          return { samples: concatFloat32(parts), sampleRate: sampleRate || 24_000 };
        },
      }),
    async voices(model) {
      const body = await getJson<{ data: { model: string; default_voice?: string | null; voices: VoiceList['voices'] }[] }>(
        'GET',
        `/v1/audio/voices${model ? `?model=${encodeURIComponent(model)}` : ''}`,
      );
      return body.data.map((list) => ({ model: list.model, voices: list.voices, ...(list.default_voice ? { defaultVoice: list.default_voice } : {}) }));
    },
    transcribe: (request) => remoteTranscribe({ base, apiKey, fetch: doFetch }, request),
    async listModels() {
      try {
        return (await getJson<{ models: InstalledModel[] }>('GET', '/api/models')).models;
      } catch (error) {
        if (!missingRoute(error)) throw error;
        return (await getJson<{ data: { id: string; created?: number }[] }>('GET', '/v1/models')).data.map(fromOpenAIModel);
      }
    },
    async getModel(name) {
      try {
        return await getJson<InstalledModel>('GET', `/api/models/${encodeURIComponent(name)}`);
      } catch (error) {
        if (!missingRoute(error)) throw error;
        return fromOpenAIModel(await getJson('GET', `/v1/models/${encodeURIComponent(name)}`));
      }
    },
    chat: (request) => generate('chat', '/v1/chat/completions', chatBody(request), request),
    complete: (request) => generate('completion', '/v1/completions', { ...samplingBody(request), prompt: request.prompt }, request),
    async embed(request) {
      const body = await getJson<{ model: string; data: { index: number; embedding: number[] }[]; usage: { prompt_tokens: number; total_tokens: number } }>(
        'POST',
        '/v1/embeddings',
        { model: request.model, input: [...request.input], encoding_format: 'float' },
        request.signal,
      );
      const result: EmbedResult = {
        model: body.model,
        embeddings: [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding),
        usage: { promptTokens: body.usage?.prompt_tokens ?? 0, totalTokens: body.usage?.total_tokens ?? 0 },
      };
      return result;
    },
    async load(name, options = {}) {
      const keepAlive = options.keepAliveMs === undefined ? undefined : options.keepAliveMs < 0 ? '-1' : `${options.keepAliveMs}ms`;
      const body = await getJson<{ model: Record<string, unknown> }>('POST', '/api/load', { model: name, ...(keepAlive ? { keep_alive: keepAlive } : {}) }, options.signal);
      return reviveLoaded(body.model);
    },
    async unload(names) {
      const body = names === 'all' ? { all: true } : { model: [...names] };
      return (await getJson<{ unloaded: string[] }>('POST', '/api/unload', body)).unloaded;
    },
    async ps() {
      return (await getJson<{ models: Record<string, unknown>[] }>('GET', '/api/ps')).models.map(reviveLoaded);
    },
    async pull(ref, options = {}) {
      const res = await send('POST', '/api/pull', { model: ref, ...(options.name ? { name: options.name } : {}), ...(options.force ? { force: true } : {}) }, options.signal);
      for await (const line of readNdjson(res.body!)) {
        const event = line as { status?: string; model?: unknown; error?: unknown };
        if (event.error) throw fromErrorBody(500, event);
        if (event.status === 'installed') return event.model as InstalledModel;
        options.onProgress?.(event as PullEvent);
      }
      throw new AppError('internal', `The daemon's pull of '${ref}' ended without saying it was installed.`);
    },
    async remove(name) {
      await send('DELETE', `/api/models/${encodeURIComponent(name)}`);
    },
    async [Symbol.asyncDispose]() {
      /* Nothing is held: each call is its own HTTP request. */
    },
  };
};

/**
 * True when a murmur daemon (anything answering 2xx on /health) is at
 * `baseUrl` within `timeoutMs` (default 200 ms).
 */
export const probeDaemon = async (baseUrl: string, timeoutMs = 200): Promise<boolean> => {
  try {
    const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.ok;
  } catch {
    return false;
  }
};
