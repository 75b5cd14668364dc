import type { ModelKind, EngineName } from '../catalog/schema.js';
import type { Config } from '../config.js';
import { createLlamaCppEngine } from '../engines/llm/llama-cpp.js';
import { createSherpaEngine } from '../engines/speech/sherpa.js';
import type { EngineFactory, EngineGeneration, EngineHandle, LlmHandle } from '../engines/types.js';
import { AppError } from '../errors.js';
import type { InstalledModel, Store } from '../store/types.js';
import { createModelManager, type ModelManager } from './model-manager.js';
import { transcribeLocal } from './transcribe-local.js';
import type { TtsHandle } from '../engines/speech/tts-types.js';
import { checkSpeakRequest, synthesizeSpeech, voiceList } from './speak.js';
import { resolveSpeechModel } from './speech-models.js';
import type { EmbedResult, GenerationResult, Runtime, SpeakResult, VoiceList } from './types.js';

/** What LocalRuntime needs from outside; tests pass a small fake store and fake engines. */
export interface LocalRuntimeDeps {
  readonly store: Pick<Store, 'list' | 'get' | 'require' | 'pull' | 'remove'>;
  /** Engines by name; 'llama-cpp' and 'sherpa-onnx' default to the native engines, loaded on first use. */
  readonly engines?: Partial<Record<EngineName, EngineFactory>>;
  /** Requests per model that may wait for a slot before 'overloaded' (default 8 × parallel). */
  readonly maxQueued?: number;
  /** Bytes loaded models may hold before idle ones are unloaded, least recently used first (default unbounded). */
  readonly maxMemoryBytes?: number;
}

export interface LocalRuntime extends Runtime {
  /** The model manager, for the daemon's metrics. */
  readonly models: ModelManager;
  /**
   * Resolves `name` in the store, checks its kind is one of `kinds` (else
   * AppError('model_kind_mismatch') naming `verb`) and runs `fn` on its loaded
   * handle in a free slot. How speech verbs plug in beside chat.
   */
  use<H extends EngineHandle, T>(
    name: string,
    kinds: readonly ModelKind[],
    verb: string,
    fn: (handle: H, model: InstalledModel, waitedMs: number) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>;
}

const requireKind = (model: InstalledModel, kinds: readonly ModelKind[], verb: string) => {
  if (kinds.includes(model.kind)) return;
  throw new AppError('model_kind_mismatch', `'${model.name}' is a ${model.kind} model; it cannot ${verb}.`, {
    hint: `Choose a model of kind ${kinds.join(' or ')} (see \`murmur list\`).`,
    param: 'model',
  });
};

/** Adds the model's name and the time spent loading and queueing to an engine's result. */
const finish = (name: string, result: EngineGeneration, waitedMs: number): GenerationResult => ({
  ...result,
  model: name,
  timings: {
    ...result.timings,
    firstTokenMs: result.timings.firstTokenMs + waitedMs,
    totalMs: result.timings.totalMs + waitedMs,
  },
});

/**
 * The Runtime with engines in this process: models come from the store,
 * load through the model manager (shared, kept alive, bounded) and run on
 * their engine. Store calls are delegated as they are.
 */
export const createLocalRuntime = (config: Config, deps: LocalRuntimeDeps): LocalRuntime => {
  const { store } = deps;
  const engines: Partial<Record<EngineName, EngineFactory>> = { ...deps.engines };
  const engineFor = (model: InstalledModel): EngineFactory => {
    if (model.engine === 'llama-cpp') return (engines['llama-cpp'] ??= createLlamaCppEngine(config));
    if (model.engine === 'sherpa-onnx') return (engines['sherpa-onnx'] ??= createSherpaEngine(config));
    const factory = engines[model.engine];
    if (!factory) throw new AppError('not_supported', `No ${model.engine} engine is available for '${model.name}'.`);
    return factory;
  };

  const models = createModelManager({
    keepAliveMs: config.keepAliveMs,
    maxLoaded: config.maxLoaded,
    parallel: config.parallel,
    maxQueued: deps.maxQueued ?? config.maxQueue,
    maxMemoryBytes: deps.maxMemoryBytes,
    load: async (name, signal) => {
      const model = await store.require(name);
      return engineFor(model)(model, { signal });
    },
  });

  const use: LocalRuntime['use'] = async (name, kinds, verb, fn, signal) => {
    const started = performance.now();
    const model = await store.require(name);
    requireKind(model, kinds, verb);
    return models.run(model.name, (handle) => fn(handle as never, model, performance.now() - started), { signal });
  };

  const canonical = async (name: string) => (await store.get(name))?.name ?? name;

  return {
    config,
    models,
    use,
    listModels: () => store.list(),
    getModel: (name) => store.require(name),
    speak: async (request) => {
      checkSpeakRequest(request);
      return use<TtsHandle, SpeakResult>(
        await resolveSpeechModel({ config, store }, 'tts', request.model),
        ['tts'],
        'speak',
        (handle, found, waited) => synthesizeSpeech(handle, found.name, request, waited, config.voice),
        request.signal,
      );
    },
    voices: async (name) => {
      const chosen = name ? [await store.require(await resolveSpeechModel({ config, store }, 'tts', name))] : (await store.list()).filter((m) => m.kind === 'tts');
      return Promise.all(
        chosen.map((model) =>
          model.kind === 'tts' && model.voices?.length
            ? voiceList(model.name, { voices: model.voices, defaultVoice: model.defaultVoice ?? model.voices[0]!.name })
            : use<TtsHandle, VoiceList>(model.name, ['tts'], 'list voices', async (handle, found) => voiceList(found.name, handle)),
        ),
      );
    },
    transcribe: (request) => transcribeLocal({ config, store, use }, request),
    chat: ({ model, ...request }) =>
      use<LlmHandle, GenerationResult>(
        model,
        ['llm'],
        'chat',
        async (handle, found, waited) => finish(found.name, await handle.chat(request), waited),
        request.signal,
      ),
    complete: ({ model, ...request }) =>
      use<LlmHandle, GenerationResult>(
        model,
        ['llm'],
        'complete text',
        async (handle, found, waited) => finish(found.name, await handle.complete(request), waited),
        request.signal,
      ),
    embed: (request) =>
      use<LlmHandle, EmbedResult>(
        request.model,
        ['llm', 'embedding'],
        'make embeddings',
        async (handle, found) => ({ model: found.name, ...(await handle.embed(request.input, request.signal)) }),
        request.signal,
      ),
    load: async (name, options) => {
      const model = await store.require(name);
      return models.load(model.name, options);
    },
    unload: async (names) => models.unload(names === 'all' ? 'all' : await Promise.all(names.map(canonical))),
    ps: async () => models.ps(),
    loading: () => models.loading(),
    pull: (ref, options) => store.pull(ref, options),
    remove: async (name) => {
      await models.unload([await canonical(name)]);
      await store.remove(name);
    },
    [Symbol.asyncDispose]: () => models[Symbol.asyncDispose](),
  };
};
