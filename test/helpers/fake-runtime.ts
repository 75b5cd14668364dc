import { createSpeechSession } from '../../src/runtime/speech-session.js';
import { loadConfig } from '../../src/config.js';
import { AppError, ModelNotFoundError } from '../../src/errors.js';
import type { ModelKind } from '../../src/catalog/schema.js';
import type { InstalledModel, PullOptions } from '../../src/store/types.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest, CompletionRequest, EmbedRequest, GenerationResult } from '../../src/types/chat.js';
import type { LoadedModel, LoadOptions } from '../../src/types/models.js';
import type { SpeakRequest, SpeakResult } from '../../src/types/speech.js';
import type { TranscribeRequest, TranscribeResult } from '../../src/types/transcript.js';

/**
 * A Runtime with no engines, for server tests. Its models: `stories` (llm),
 * `embed` (embedding), `voice` (tts). The last user message steers it:
 * `overload` → 503, `slow` → a token every 5 ms until aborted, `fail late` →
 * an error after the first token; prompts over 2,000 characters are "too long".
 * Speech: `voice` says any text as 10 ms of silence per character at 16 kHz
 * (voice `default`); there is no asr model, so transcribe always reports the
 * model as unknown (or of the wrong kind).
 */
export interface FakeRuntime extends Runtime {
  readonly calls: (ChatRequest | CompletionRequest)[];
  /** Generations running now. */
  running: number;
  /** Generations stopped by their AbortSignal. */
  aborted: number;
}

const manifest = (name: string, kind: ModelKind): InstalledModel => ({
  name,
  kind,
  engine: kind === 'llm' || kind === 'embedding' ? 'llama-cpp' : 'sherpa-onnx',
  family: kind === 'llm' || kind === 'embedding' ? 'gguf' : 'vits',
  source: `/models/${name}`,
  layout: { model: `${name}.bin` },
  files: [{ path: `${name}.bin`, size: 1000 }],
  size: 1000,
  pulledAt: '2025-01-02T03:04:05.000Z',
  dir: `/models/${name}`,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates a fresh fake runtime. */
export const createFakeRuntime = (): FakeRuntime => {
  const models = new Map<string, InstalledModel>([
    ['stories', manifest('stories', 'llm')],
    ['embed', manifest('embed', 'embedding')],
    ['voice', manifest('voice', 'tts')],
  ]);
  const loaded = new Map<string, LoadedModel>();

  const require = (name: string, kind: ModelKind): InstalledModel => {
    const model = models.get(name);
    if (!model) throw new ModelNotFoundError(name);
    if (model.kind !== kind) throw new AppError('model_kind_mismatch', `'${name}' is a ${model.kind} model, not a ${kind} model.`, { param: 'model' });
    return model;
  };

  const generate = async (request: ChatRequest | CompletionRequest, prompt: string): Promise<GenerationResult> => {
    require(request.model, 'llm');
    runtime.calls.push(request);
    if (prompt.length > 2000) {
      throw new AppError('context_length_exceeded', `The prompt is ${prompt.length} tokens, more than the context of 2048 tokens.`, { param: 'messages' });
    }
    if (prompt.endsWith('overload')) throw new AppError('overloaded', `Too many requests are waiting for '${request.model}'.`);
    const chat = 'messages' in request ? request : undefined;
    const started = Date.now();
    runtime.running += 1;
    try {
      let pieces = ['Once', ' upon', ' a', ' time'];
      if (chat?.responseFormat?.type === 'json_schema' || chat?.responseFormat?.type === 'json_object') pieces = ['{"name":', '"Tim"}'];
      const calling = chat?.tools?.length && chat.toolChoice !== 'none';
      if (calling) pieces = [];
      const out: string[] = [];
      const slow = prompt.endsWith('slow');
      for (let i = 0; slow ? i < 100_000 : i < pieces.length; i++) {
        if (request.signal?.aborted) {
          runtime.aborted += 1;
          throw new DOMException('aborted', 'AbortError');
        }
        if (request.maxTokens !== undefined && out.length >= request.maxTokens) break;
        const piece = slow ? ` t${i}` : pieces[i]!;
        out.push(piece);
        request.onToken?.(piece);
        if (slow) await sleep(5);
        if (prompt.endsWith('fail late')) throw new Error('engine exploded');
      }
      const length = request.maxTokens !== undefined && out.length >= request.maxTokens;
      return {
        model: request.model,
        text: out.join(''),
        toolCalls: calling ? [{ id: 'call_1', name: chat!.tools![0]!.name, arguments: '{"city":"Paris"}' }] : undefined,
        finishReason: calling ? 'tool_calls' : length ? 'length' : 'stop',
        usage: { promptTokens: 7, completionTokens: out.length, totalTokens: 7 + out.length },
        timings: { firstTokenMs: 1, totalMs: Date.now() - started, tokensPerSecond: 100 },
      };
    } finally {
      runtime.running -= 1;
    }
  };

  const speak = async (request: SpeakRequest): Promise<SpeakResult> => {
    const model = require(request.model ?? 'voice', 'tts');
    if (request.voice !== undefined && request.voice !== 'default') {
      throw new AppError('invalid_request', `'${model.name}' has no voice '${request.voice}'.`, { param: 'voice' });
    }
    const sampleRate = 16_000;
    const samples = new Float32Array(request.text.length * (sampleRate / 100));
    request.onAudio?.({ samples, sampleRate, text: request.text });
    return {
      model: model.name,
      voice: 'default',
      sampleRate,
      samples: request.onAudio ? new Float32Array(0) : samples,
      sampleCount: samples.length,
      characters: request.text.length,
      timings: { firstAudioMs: 1, totalMs: 1, realTimeFactor: 0.01 },
    };
  };

  const transcribe = async (request: TranscribeRequest): Promise<TranscribeResult> => {
    const model = require(request.model ?? 'whisper', 'asr');
    throw new AppError('internal', `The fake runtime cannot transcribe with '${model.name}'.`);
  };

  const runtime: FakeRuntime = {
    config: loadConfig({}),
    calls: [],
    running: 0,
    aborted: 0,
    openSpeech: async (options = {}) => {
      require(options.model ?? 'voice', 'tts');
      return createSpeechSession({
        model: options.model ?? 'voice',
        voice: 'default',
        signal: options.signal,
        synthesize: async (text) => {
          const result = await speak({ ...options, text });
          return { samples: result.samples, sampleRate: result.sampleRate };
        },
      });
    },
    listModels: async () => [...models.values()],
    getModel: async (name) => {
      const model = models.get(name);
      if (!model) throw new ModelNotFoundError(name);
      return model;
    },
    chat: (request) => generate(request, request.messages.map((m) => m.content).join('\n')),
    complete: (request) => generate(request, request.prompt),
    countTokens: async (request) => {
      require(request.model, 'llm');
      return request.messages.map((m) => m.content).join('\n').split(/\s+/).filter(Boolean).length;
    },
    embed: async (request: EmbedRequest) => {
      require(request.model, 'embedding');
      return {
        model: request.model,
        embeddings: request.input.map((text) => [text.length, 0.5, -0.25]),
        usage: { promptTokens: request.input.length * 2, totalTokens: request.input.length * 2 },
      };
    },
    load: async (name: string, options: LoadOptions = {}) => {
      const model = models.get(name);
      if (!model) throw new ModelNotFoundError(name);
      const keep = options.keepAliveMs ?? 300_000;
      const entry: LoadedModel = {
        name,
        kind: model.kind,
        memoryBytes: 4096,
        inFlight: 0,
        queued: 0,
        loadedAt: new Date(),
        expiresAt: keep < 0 ? null : new Date(Date.now() + keep),
      };
      loaded.set(name, entry);
      return entry;
    },
    unload: async (names) => {
      const targets = names === 'all' ? [...loaded.keys()] : names.filter((n) => loaded.has(n));
      for (const name of targets) loaded.delete(name);
      return targets;
    },
    ps: async () => [...loaded.values()].map((m) => ({ ...m, inFlight: runtime.running })),
    pull: async (ref: string, options: PullOptions = {}) => {
      const name = options.name ?? ref;
      options.onProgress?.({ status: 'resolving', model: name });
      options.onProgress?.({ status: 'downloading', model: name, file: 'x.bin', completed: 500, total: 1000 });
      options.onProgress?.({ status: 'success', model: name, path: `/models/${name}`, reused: false });
      const model = manifest(name, 'llm');
      models.set(name, model);
      return model;
    },
    remove: async (name) => {
      if (!models.delete(name)) throw new ModelNotFoundError(name);
    },
    copy: async (source, destination) => {
      const model = models.get(source);
      if (!model) throw new ModelNotFoundError(source);
      if (models.has(destination)) throw new AppError('model_exists', `'${destination}' is installed already.`);
      const copied = { ...model, name: destination };
      models.set(destination, copied);
      return copied;
    },
    speak,
    voices: async (name) => {
      const tts = name === undefined ? [...models.values()].filter((m) => m.kind === 'tts') : [require(name, 'tts')];
      return tts.map((m) => ({ model: m.name, voices: [{ name: 'default', id: 0 }], defaultVoice: 'default' }));
    },
    transcribe,
    [Symbol.asyncDispose]: async () => {
      loaded.clear();
    },
  };
  return runtime;
};
