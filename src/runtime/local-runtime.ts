import type { Catalog } from '../catalog/catalog.js';
import type { ModelKind, EngineName } from '../types/models.js';
import type { Config } from '../config.js';
import { createEngineRegistry } from '../engines/registry.js';
import { createProcessEngines, type ProcessEngines } from '../engines/process/supervisor.js';
import type { EngineFactory, EngineGeneration, EngineHandle, EngineResolver, LlmHandle } from '../engines/types.js';
import { AppError } from '../errors.js';
import type { InstalledModel, Store } from '../store/types.js';
import { createModelManager, defaultMaxMemory, type ModelHint, type ModelManager } from './model-manager.js';
import { transcribeLocal } from './transcribe-local.js';
import type { TtsHandle } from '../engines/speech/tts-types.js';
import { checkSpeakRequest, checkSpeed, resolveVoice, synthesizeSpeech, voiceList } from './speak.js';
import { createSpeechSession } from './speech-session.js';
import { createListenSession } from './listen-session.js';
import { createConversation } from './conversation.js';
import type { AsrHandle, VadHandle } from '../engines/speech/asr-types.js';
import { checkSchemaBounds } from './schema-bounds.js';
import { defaultModelOf, openAiSpeechKind, resolveSpeechModel, type SpeechModelDeps } from './speech-models.js';
import type { Runtime } from './types.js';
import type { EmbedResult, GenerationResult } from '../types/chat.js';
import type { SpeakResult, VoiceList } from '../types/speech.js';
import { withArticle } from '../text/article.js';

/** What LocalRuntime needs from outside; tests pass a small fake store and fake engines. */
export interface LocalRuntimeDeps {
  readonly store: Pick<Store, 'list' | 'get' | 'require' | 'pull' | 'remove' | 'copy'>;
  /** The catalog the store was built with (defaults and aliases); read once from config.catalog when absent. */
  readonly catalog?: Catalog;
  /** Engines by name; 'llama-cpp' and 'sherpa-onnx' default to the native engines, loaded on first use. */
  readonly engines?: Partial<Record<EngineName, EngineFactory>>;
  /** Which factory runs a model (default: src/engines/registry.ts with `engines` as overrides). */
  readonly engineFor?: EngineResolver;
  /** Requests per model that may wait for a slot before 'overloaded' (default 8 × parallel). */
  readonly maxQueued?: number;
  /** Bytes loaded models may hold before idle ones are unloaded, least recently used first (default unbounded). */
  readonly maxMemoryBytes?: number;
}

export interface LocalRuntime extends Runtime {
  /** The model manager, for the daemon's metrics. */
  readonly models: ModelManager;
  /** The engine processes, when engines run isolated (config.isolation 'process'). */
  readonly engineProcesses?: ProcessEngines;
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

/** What the manager may know of a model before it loads: its kind, and its size on disk as the memory it will take. */
const hintOf = (model: InstalledModel): ModelHint => ({ kind: model.kind, expectedBytes: model.size });

const requireKind = (model: InstalledModel, kinds: readonly ModelKind[], verb: string) => {
  if (kinds.includes(model.kind)) return;
  throw new AppError('model_kind_mismatch', `'${model.name}' is ${withArticle(model.kind)} model; it cannot ${verb}.`, {
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
/**
 * A vector cut to its first `dimensions` (when asked) and scaled to unit
 * length, as OpenAI and Ollama return embeddings: a dot product is then
 * the cosine. A zero vector stays zero.
 */
export const unitVector = (vector: readonly number[], dimensions?: number): number[] => {
  if (dimensions !== undefined && dimensions > vector.length) {
    throw new AppError('invalid_request', `'dimensions' is ${dimensions}, but the model's embeddings have ${vector.length}.`, { param: 'dimensions', hint: `Ask for ${vector.length} or fewer.` });
  }
  const kept = dimensions === undefined ? vector : vector.slice(0, dimensions);
  const length = Math.sqrt(kept.reduce((sum, x) => sum + x * x, 0));
  return length > 0 ? kept.map((x) => x / length) : [...kept];
};

export const createLocalRuntime = (config: Config, deps: LocalRuntimeDeps): LocalRuntime => {
  const { store } = deps;
  // Isolated: every model loads in an engine process of its own (tests' fake engines stay in-process).
  const processes = config.isolation === 'process' && !deps.engineFor && !deps.engines ? createProcessEngines(config, { timeoutMs: config.engineTimeoutMs }) : undefined;
  const engineFor = deps.engineFor ?? (processes ? () => processes.factory : createEngineRegistry(config, deps.engines));
  let catalog: Promise<Catalog> | undefined = deps.catalog && Promise.resolve(deps.catalog);
  const resolving: SpeechModelDeps & Pick<LocalRuntimeDeps, 'store'> & { readonly config: Config } = {
    config,
    store,
    // Parsed once per runtime, on first need.
    catalog: () => (catalog ??= import('../catalog/catalog.js').then(({ loadCatalog }) => loadCatalog({ userPath: config.catalog }))),
  };

  const models = createModelManager({
    keepAliveMs: config.keepAliveMs,
    maxLoaded: config.maxLoaded,
    parallel: config.parallel,
    maxQueued: deps.maxQueued ?? config.maxQueue,
    maxMemoryBytes: deps.maxMemoryBytes ?? config.maxMemoryBytes ?? defaultMaxMemory(),
    load: async (name, signal) => {
      const model = await store.require(name);
      pulledAt.set(model.name, model.pulledAt);
      return engineFor(model)(model, { signal });
    },
  });

  /** When each model loaded was pulled: a broken model pulled again since (by any process) is given another chance. */
  const pulledAt = new Map<string, string>();
  const freshFiles = (model: InstalledModel) => {
    if (models.broken().has(model.name) && pulledAt.get(model.name) !== model.pulledAt) models.forgive(model.name);
  };
  /** An installed model by name, given another chance first if it was broken and has been pulled again since. */
  const installedModel = async (name: string): Promise<InstalledModel> => {
    const model = await store.require(name);
    freshFiles(model);
    return model;
  };

  const use: LocalRuntime['use'] = async (name, kinds, verb, fn, signal) => {
    const started = performance.now();
    const model = await installedModel(name);
    requireKind(model, kinds, verb);
    return models.run(model.name, (handle) => fn(handle as never, model, performance.now() - started), { signal, hint: hintOf(model) });
  };

  const canonical = async (name: string) => (await store.get(name))?.name ?? name;

  /** Installed models, each marked when the daemon refuses it as broken. */
  const listModels = async () => {
    const list = await store.list();
    list.forEach(freshFiles);
    const broken = models.broken();
    return broken.size ? list.map((m) => (broken.has(m.name) ? { ...m, broken: broken.get(m.name)! } : m)) : list;
  };

  const runtime: LocalRuntime = {
    config,
    models,
    engineProcesses: processes,
    use,
    listModels,
    getModel: async (name) => {
      // OpenAI's speech model names (tts-1, whisper-1, …) are the model the audio routes would use for them.
      const kind = openAiSpeechKind(name);
      const model = await installedModel(kind ? await resolveSpeechModel(resolving, kind, name) : name);
      const why = models.broken().get(model.name);
      return why === undefined ? model : { ...model, broken: why };
    },
    speak: async (request) => {
      checkSpeakRequest(request);
      return use<TtsHandle, SpeakResult>(
        await resolveSpeechModel(resolving, 'tts', request.model),
        ['tts'],
        'speak',
        (handle, found, waited) => synthesizeSpeech(handle, found.name, request, waited, config.voice),
        request.signal,
      );
    },
    voices: async (name) => {
      const chosen = name ? [await store.require(await resolveSpeechModel(resolving, 'tts', name))] : (await store.list()).filter((m) => m.kind === 'tts');
      // Listing every model's voices loads none of them: a model whose voices only its engine knows lists them once loaded, or when named.
      const loaded = new Set(models.ps().map((m) => m.name));
      return Promise.all(
        chosen.map((model) =>
          model.kind === 'tts' && model.voices?.length
            ? voiceList(model.name, { voices: model.voices, defaultVoice: model.defaultVoice ?? model.voices[0]!.name })
            : !name && !loaded.has(model.name)
              ? { model: model.name, voices: [] }
              : use<TtsHandle, VoiceList>(model.name, ['tts'], 'list voices', async (handle, found) => voiceList(found.name, handle)),
        ),
      );
    },
    openSpeech: async (options = {}) => {
      checkSpeed(options.speed);
      const speed = options.speed ?? 1;
      const model = await installedModel(await resolveSpeechModel(resolving, 'tts', options.model));
      requireKind(model, ['tts'], 'speak');
      // One lease for the session's life: no lookup, manifest read or load per sentence.
      const lease = await models.lease(model.name, { signal: options.signal, hint: hintOf(model) });
      try {
        const handle = lease.handle as TtsHandle;
        const voice = resolveVoice(handle, options.voice, model.name, config.voice);
        return createSpeechSession({
          model: model.name,
          voice: voice.name,
          sampleRate: handle.sampleRate,
          signal: options.signal,
          synthesize: (text, signal) =>
            lease.run(async () => ({ samples: await handle.synthesize(text, { sid: voice.id, speed, signal }), sampleRate: handle.sampleRate }), { signal }),
          onEnd: () => lease.release(),
        });
      } catch (error) {
        lease.release();
        throw error;
      }
    },
    openListen: async (options = {}) => {
      const asrModel = await installedModel(await resolveSpeechModel(resolving, 'asr', options.model));
      requireKind(asrModel, ['asr'], 'transcribe');
      const detect = options.turnDetection !== null;
      let vadModel: InstalledModel | undefined;
      if (detect) {
        const chosen = options.vad ?? (await defaultModelOf(resolving, 'vad'))?.name;
        if (!chosen) throw new AppError('invalid_request', 'Turn detection needs a voice-activity model, and none is installed.', { hint: 'Run `murmur pull silero-vad`, or turn detection off.', param: 'vad' });
        vadModel = await installedModel(chosen);
        requireKind(vadModel, ['vad'], 'detect speech');
      }
      // Leases for the session's life: no lookup or load per turn.
      const asr = await models.lease(asrModel.name, { signal: options.signal, hint: hintOf(asrModel) });
      let vad: Awaited<ReturnType<typeof models.lease>> | undefined;
      try {
        vad = vadModel && (await models.lease(vadModel.name, { signal: options.signal, hint: hintOf(vadModel) }));
        const release = () => {
          asr.release();
          vad?.release();
        };
        const asrHandle = asr.handle as AsrHandle;
        const rate = 16_000;
        return createListenSession({
          model: asrModel.name,
          ...(vadModel ? { vad: vadModel.name } : {}),
          sampleRate: rate,
          turnDetection: options.turnDetection,
          ...(vad ? { openDetector: (settings) => (vad!.handle as VadHandle).open(rate, settings) } : {}),
          transcribe: (samples, signal) => asr.run(() => asrHandle.transcribe(samples, rate, { language: options.language, signal }), { signal }),
          ...(asrHandle.streaming ? { openStream: () => asrHandle.openStream(rate) } : {}),
          signal: options.signal,
          onEnd: release,
        });
      } catch (error) {
        asr.release();
        vad?.release();
        throw error;
      }
    },
    openConversation: async (options = {}) => {
      const chatModel = options.model?.trim() || (await defaultModelOf(resolving, 'chat'))?.name;
      if (!chatModel) throw new AppError('invalid_request', 'No chat model is installed and none was named.', { hint: 'Pull one (`murmur pull qwen3`) or name one.', param: 'model' });
      const found = options.modelElsewhere ? { name: chatModel } : await installedModel(chatModel);
      if (!options.modelElsewhere) requireKind(found as InstalledModel, ['llm'], 'chat');
      const chat = options.chat ?? runtime.chat;
      // The voice is checked now, as the listening models are, rather than when the first reply fails (and it is loaded early).
      if (options.speak !== false) (await runtime.openSpeech({ ...(options.speak ?? {}), signal: options.signal })).cancel();
      const listen = options.listen === false ? undefined : await runtime.openListen!({ ...options.listen, signal: options.signal });
      return createConversation({
        ...options,
        model: found.name,
        listen,
        chat: (messages, settings, onToken, signal) =>
          chat({
            model: settings.model ?? found.name,
            messages,
            onToken,
            signal,
            maxTokens: settings.maxOutputTokens,
            temperature: settings.temperature,
            ...(settings.tools?.length ? { tools: settings.tools, toolChoice: settings.toolChoice } : {}),
          }),
        openSpeech: (speak, signal) => runtime.openSpeech({ ...speak, signal }),
      });
    },
    transcribe: (request) => transcribeLocal({ ...resolving, use }, request),
    chat: async ({ model, ...request }) => {
      checkSchemaBounds(request);
      return use<LlmHandle, GenerationResult>(
        model,
        ['llm'],
        'chat',
        async (handle, found, waited) => finish(found.name, await handle.chat(request), waited),
        request.signal,
      );
    },
    complete: ({ model, ...request }) =>
      use<LlmHandle, GenerationResult>(
        model,
        ['llm'],
        'complete text',
        async (handle, found, waited) => finish(found.name, await handle.complete(request), waited),
        request.signal,
      ),
    countTokens: ({ model, ...request }) => {
      checkSchemaBounds(request);
      return use<LlmHandle, number>(model, ['llm'], 'count tokens', (handle) => handle.countTokens(request), request.signal);
    },
    embed: (request) =>
      use<LlmHandle, EmbedResult>(
        request.model,
        ['llm', 'embedding'],
        'make embeddings',
        async (handle, found) => {
          const result = await handle.embed(request.input, request.signal, request.truncate ? { truncate: true } : {});
          return { model: found.name, ...result, embeddings: result.embeddings.map((vector) => unitVector(vector, request.dimensions)) };
        },
        request.signal,
      ),
    load: async (name, options) => {
      const model = await installedModel(name);
      return models.load(model.name, { ...options, hint: hintOf(model) });
    },
    unload: async (names) => models.unload(names === 'all' ? 'all' : await Promise.all(names.map(canonical))),
    ps: async () => models.ps(),
    loading: () => models.loading(),
    engineHealth: () => ({ restarts: models.restarts(), broken: models.broken() }),
    onEngineCrash: (listener) => models.onCrash(listener),
    pull: async (ref, options) => {
      const model = await store.pull(ref, options);
      // Fresh files: a model marked broken may load again.
      models.forgive(model.name);
      return model;
    },
    remove: async (name) => {
      const canonicalName = await canonical(name);
      await models.unload([canonicalName]);
      await store.remove(name);
      models.forgive(canonicalName);
    },
    // The copy is a model of its own name: nothing loaded changes.
    copy: async (source, destination) => store.copy(source, destination),
    [Symbol.asyncDispose]: async () => {
      const done = models[Symbol.asyncDispose]();
      if (!processes) return done;
      // Requests were aborted before this; an engine that has not stopped within half a second is killed, with its calls failed.
      const timer = setTimeout(() => processes.killAll(), 500);
      try {
        await done;
      } finally {
        clearTimeout(timer);
        processes.killAll();
      }
    },
  };
  return runtime;
};
