import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama, LlamaContext, LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import type { Config } from '../../config.js';
import { abortReason, AppError, EngineLoadError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { LlmEngineFactory, LlmHandle } from '../types.js';
import { checkToken, countChatTokens, runChat, runCompletion, type GenerateContext } from './generate.js';
import { createSequencePool } from './sequence-pool.js';
import { withArticle } from '../../text/article.js';

/**
 * The one file that loads node-llama-cpp (lazily, so `--help` and `pull`
 * never touch native code). One Llama per process and settings; per model
 * one context with `config.parallel` sequences (continuous batching) and,
 * when asked for, one embedding context.
 */

type NodeLlamaCpp = typeof import('node-llama-cpp');
type EngineConfig = Pick<Config, 'gpu' | 'threads' | 'debug' | 'parallel'>;

/** Tokens per sequence at most: "auto" would size contexts to the model's full training length. */
const MAX_CONTEXT = 8192;

interface LlamaRuntime {
  readonly lib: NodeLlamaCpp;
  readonly llama: Llama;
  /** The latest llama.cpp error lines, for load-failure messages. */
  readonly errors: string[];
}

const instances = new Map<string, Promise<LlamaRuntime>>();

const startLlama = async (config: EngineConfig): Promise<LlamaRuntime> => {
  const lib = await import('node-llama-cpp');
  const errors: string[] = [];
  const quiet = !config.debug;
  try {
    const llama = await lib.getLlama({
      gpu: config.gpu === 'off' ? false : config.gpu,
      maxThreads: config.threads,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: config.debug ? lib.LlamaLogLevel.info : lib.LlamaLogLevel.error,
      logger: (level, message) => {
        const line = message.trim();
        if (!line) return;
        if (level === lib.LlamaLogLevel.error || level === lib.LlamaLogLevel.fatal) {
          errors.push(line);
          errors.splice(0, Math.max(0, errors.length - 5));
        }
        if (!quiet) process.stderr.write(`[llama.cpp ${level}] ${line}\n`);
      },
    });
    return { lib, llama, errors };
  } catch (error) {
    const reason = (error as Error).message || (error as Error).name || String(error);
    // An explicit backend that this machine lacks fails here (auto falls back to the CPU on its own).
    const asked = config.gpu === 'auto' || config.gpu === 'off' ? undefined : config.gpu;
    throw new EngineLoadError(`node-llama-cpp could not start${asked ? ` with ${asked}` : ''}: ${reason}`, {
      hint: asked
        ? `Is a ${asked} GPU and its driver present here? Use --gpu auto (MURMUR_GPU=auto) to take a GPU where there is one and the CPU otherwise, or --gpu off.`
        : "Try --gpu off (MURMUR_GPU=off), or reinstall murmur so node-llama-cpp's prebuilt binaries are present.",
      cause: error,
    });
  }
};

/** The process's Llama for these settings, started on first use. */
const getRuntime = (config: EngineConfig): Promise<LlamaRuntime> => {
  const key = `${config.gpu}/${config.threads}/${config.debug}`;
  let instance = instances.get(key);
  if (!instance) {
    instance = startLlama(config);
    instances.set(key, instance);
    instance.catch(() => instances.delete(key));
  }
  return instance;
};

/** Runs one task at a time (embedding contexts are not shared between concurrent calls). */
const serialize = () => {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const next = tail.then(task, task);
    tail = next.catch(() => undefined);
    return next;
  };
};

const modelFile = (model: InstalledModel): string => {
  const relative = model.layout.model;
  if (!relative) {
    throw new EngineLoadError(`'${model.name}' has no model file in its manifest.`, {
      hint: `Run \`murmur pull ${model.name} --force\` to install it again.`,
    });
  }
  return join(model.dir, relative);
};

const loadFailure = (model: InstalledModel, file: string, runtime: LlamaRuntime, error: unknown) => {
  const line = runtime.errors.find((l) => /error loading model/.test(l)) ?? runtime.errors[0];
  const detail = line ? line.replace(/^.*error loading model:\s*/, '') : (error as Error).message;
  return new EngineLoadError(`Could not load '${model.name}' from ${file}: ${detail}`, {
    hint: `The file may be truncated or corrupt. Run \`murmur pull ${model.name} --force\` to download it again.`,
    cause: error,
  });
};

/**
 * The node-llama-cpp engine: loads GGUF models of kind 'llm' (chat,
 * completion and embeddings) or 'embedding' (embeddings only).
 */
export const createLlamaCppEngine = (config: EngineConfig): LlmEngineFactory => async (model, options = {}) => {
  if (model.engine !== 'llama-cpp' || (model.kind !== 'llm' && model.kind !== 'embedding')) {
    throw new AppError('model_kind_mismatch', `'${model.name}' is ${withArticle(model.kind)} model for ${model.engine}, not a language model.`, {
      param: 'model',
    });
  }
  const file = modelFile(model);
  if (!existsSync(file)) {
    throw new EngineLoadError(`'${model.name}' is missing its file ${file}.`, {
      hint: `Run \`murmur pull ${model.name} --force\` to download it again.`,
    });
  }
  const runtime = await getRuntime(config);
  const { lib, llama } = runtime;
  runtime.errors.length = 0;
  let loaded: LlamaModel | undefined;
  let context: LlamaContext | undefined;
  try {
    loaded = await llama.loadModel({ modelPath: file, loadSignal: options.signal });
    if (model.kind === 'llm') {
      context = await loaded.createContext({
        sequences: Math.max(1, config.parallel),
        threads: config.threads,
        contextSize: { max: MAX_CONTEXT },
        createSignal: options.signal,
      });
    }
  } catch (error) {
    // A failed load leaves nothing behind.
    await context?.dispose().catch(() => undefined);
    await loaded?.dispose().catch(() => undefined);
    if (options.signal?.aborted) throw error;
    throw loadFailure(model, file, runtime, error);
  }
  const llamaModel = loaded;
  const contextSize = context?.contextSize ?? Math.min(llamaModel.trainContextSize, MAX_CONTEXT);
  const generate: GenerateContext | undefined = context && {
    lib,
    llama,
    model: llamaModel,
    pool: createSequencePool(context),
    chatWrapper: lib.resolveChatWrapper(llamaModel),
    contextSize: context.contextSize,
    name: model.name,
  };
  const needsChat = (): GenerateContext => {
    if (generate) return generate;
    throw new AppError('model_kind_mismatch', `'${model.name}' is an embedding model; it cannot generate text.`, {
      hint: 'Use it with /v1/embeddings, or choose a chat model (`murmur list`).',
      param: 'model',
    });
  };
  let embedding: Promise<LlamaEmbeddingContext> | undefined;
  const oneAtATime = serialize();
  let disposed = false;

  const handle: LlmHandle = {
    kind: model.kind,
    contextSize,
    async stats() {
      const usage = context?.memoryUsage ?? { ram: 0, vram: 0 };
      // The weights' share on the GPU, by the layers offloaded there.
      const layers = llamaModel.fileInsights.totalLayers;
      const weightsOnGpu = layers > 0 ? Math.round((llamaModel.size * Math.min(layers, llamaModel.gpuLayers)) / layers) : 0;
      return { memoryBytes: llamaModel.size + usage.ram + usage.vram, vramBytes: weightsOnGpu + usage.vram };
    },
    chat: (request) => runChat(needsChat(), request),
    complete: (request) => runCompletion(needsChat(), request),
    countTokens: (request) => countChatTokens(needsChat(), request),
    embed: (input, signal, embedOptions = {}) =>
      oneAtATime(async () => {
        // Token ids are checked before any work (llama.cpp aborts on one out of range).
        const inputs = input.map((item, i) =>
          typeof item === 'string' ? item : item.map((token) => checkToken(llamaModel, model.name, token, input.length > 1 ? `input[${i}]` : 'input')),
        );
        embedding ??= llamaModel.createEmbeddingContext({ threads: config.threads, contextSize: { max: MAX_CONTEXT } });
        const embedder = await embedding.catch((error: unknown) => {
          embedding = undefined;
          throw error;
        });
        // node-llama-cpp adds the model's begin and end tokens, and needs the whole input to fit below its context size.
        const limit = Math.min(llamaModel.trainContextSize, MAX_CONTEXT) - 1;
        const embeddings: number[][] = [];
        let promptTokens = 0;
        for (const item of inputs) {
          if (signal?.aborted) throw abortReason(signal);
          const whole = typeof item === 'string' ? llamaModel.tokenize(item) : item;
          const added = embedder.calculateInputLength(whole.slice(0, 1)) - Math.min(whole.length, 1);
          const tokens = embedOptions.truncate ? whole.slice(0, limit - added) : whole;
          if (tokens.length + added > limit) {
            throw new AppError('context_length_exceeded', `An input is ${tokens.length} tokens, but '${model.name}' embeds at most ${limit - added}.`, {
              hint: 'Split the input into shorter pieces (Ollama\'s /api/embed cuts it with truncate, its default).',
              param: 'input',
            });
          }
          promptTokens += tokens.length;
          embeddings.push([...(await embedder.getEmbeddingFor(tokens)).vector]);
        }
        return { embeddings, usage: { promptTokens, totalTokens: promptTokens } };
      }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (embedding) await (await embedding.catch(() => undefined))?.dispose();
      await context?.dispose();
      await llamaModel.dispose();
    },
  };
  return handle;
};
