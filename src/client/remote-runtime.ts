import type { Config } from '../config.js';
import { AppError, isAbortError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { ChatRequest, CompletionRequest, GenerationResult } from '../types/chat.js';
import type { LoadedModel } from '../types/models.js';
import type { PullEvent } from '../store/types.js';
import type { ModelInfo } from '../types/models.js';
import type { UpstreamStatus } from '../routing/upstream.js';
import { toChatCompletionRequest } from '../api/openai/chat-request.js';
import { toCompletionRequest } from '../api/openai/completions.js';
import { fromEmbeddingsList, toEmbeddingsRequest } from '../api/openai/embeddings.js';
import { fromErrorBody, isOpenAIErrorBody } from '../api/openai/errors.js';
import { fromModelEntry, fromModelList } from '../api/openai/models.js';
import { fromVoiceLists } from '../api/openai/voices.js';
import { concatFloat32 } from '../audio/pcm.js';
import { createSpeechSession } from '../runtime/speech-session.js';
import { readNdjson } from './event-stream.js';
import { readGeneration, type GenerationKind } from './remote-generation.js';
import { remoteSpeak } from './remote-speech.js';
import { openRemoteConversation, openRemoteListen } from './remote-conversation.js';
import { openRemoteSpeech } from './remote-speech-session.js';
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
      // A fetch of murmur's own (the router's, to an upstream) says itself what failed.
      if (error instanceof AppError) throw error;
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

  const runtimeChat = (request: ChatRequest) => generate('chat', '/v1/chat/completions', toChatCompletionRequest(request), request);

  return {
    config,
    speak: (request) => remoteSpeak(send, request),
    openSpeech: async (options = {}) => {
      try {
        return await openRemoteSpeech(send, options);
      } catch (error) {
        if (!missingRoute(error)) throw error;
      }
      // A server without murmur's session door: each sentence the core session splits off is one /v1/audio/speech request.
      return createSpeechSession({
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
      });
    },
    async voices(model) {
      return fromVoiceLists(await getJson('GET', `/v1/audio/voices${model ? `?model=${encodeURIComponent(model)}` : ''}`));
    },
    openListen: (options) => openRemoteListen({ base, apiKey }, options),
    openConversation: (options) => openRemoteConversation({ base, apiKey }, options),
    transcribe: (request) => remoteTranscribe({ base, apiKey, fetch: doFetch }, request),
    async listModels() {
      try {
        return (await getJson<{ models: ModelInfo[] }>('GET', '/murmur/v1/models')).models;
      } catch (error) {
        if (!missingRoute(error)) throw error;
        return fromModelList(await getJson('GET', '/v1/models'));
      }
    },
    async upstreams() {
      try {
        return (await getJson<{ upstreams: UpstreamStatus[] }>('GET', '/murmur/v1/upstreams')).upstreams;
      } catch (error) {
        // A daemon from before routing, or a plain OpenAI server: nothing routed.
        if (missingRoute(error)) return [];
        throw error;
      }
    },
    async getModel(name) {
      try {
        return await getJson<ModelInfo>('GET', `/murmur/v1/models/${encodeURIComponent(name)}`);
      } catch (error) {
        if (!missingRoute(error)) throw error;
        return fromModelEntry(await getJson('GET', `/v1/models/${encodeURIComponent(name)}`));
      }
    },
    chat: (request) => runtimeChat(request),
    complete: (request) => generate('completion', '/v1/completions', toCompletionRequest(request), request),
    async countTokens(request) {
      try {
        return (await getJson<{ prompt_tokens: number }>('POST', '/murmur/v1/count_tokens', toChatCompletionRequest(request), request.signal)).prompt_tokens;
      } catch (error) {
        if (!missingRoute(error)) throw error;
      }
      // A plain OpenAI server: a one-token reply says how long the prompt was.
      return (await runtimeChat({ ...request, maxTokens: 1, temperature: 0, onToken: undefined, onThought: undefined })).usage.promptTokens;
    },
    async embed(request) {
      return fromEmbeddingsList(await getJson('POST', '/v1/embeddings', toEmbeddingsRequest(request), request.signal), request.model);
    },
    async load(name, options = {}) {
      const keepAlive = options.keepAliveMs === undefined ? undefined : options.keepAliveMs < 0 ? '-1' : `${options.keepAliveMs}ms`;
      const body = await getJson<{ model: Record<string, unknown> }>('POST', '/murmur/v1/load', { model: name, ...(keepAlive ? { keep_alive: keepAlive } : {}) }, options.signal);
      return reviveLoaded(body.model);
    },
    async unload(names) {
      const body = names === 'all' ? { all: true } : { model: [...names] };
      return (await getJson<{ unloaded: string[] }>('POST', '/murmur/v1/unload', body)).unloaded;
    },
    async ps() {
      return (await getJson<{ models: Record<string, unknown>[] }>('GET', '/murmur/v1/ps')).models.map(reviveLoaded);
    },
    async pull(ref, options = {}) {
      const res = await send('POST', '/murmur/v1/pull', { model: ref, ...(options.name ? { name: options.name } : {}), ...(options.force ? { force: true } : {}) }, options.signal);
      for await (const line of readNdjson(res.body!)) {
        if (isOpenAIErrorBody(line)) throw fromErrorBody(500, line);
        const event = line as { status?: string; model?: unknown };
        if (event.status === 'installed') return event.model as ModelInfo;
        options.onProgress?.(event as PullEvent);
      }
      throw new AppError('internal', `The daemon's pull of '${ref}' ended without saying it was installed.`);
    },
    async remove(name) {
      await send('DELETE', `/murmur/v1/models/${encodeURIComponent(name)}`);
    },
    async copy(source, destination) {
      return (await getJson<{ model: ModelInfo }>('POST', '/murmur/v1/copy', { source, destination })).model;
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
