import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest, GenerationResult } from '../../src/types/chat.js';
import type { InstalledModel } from '../../src/store/types.js';
import { AppError, ModelNotDownloadedError } from '../../src/errors.js';

/**
 * A Runtime stand-in for chat tests: chat() streams `reply(request)` word by
 * word with a small delay between tokens, honours the AbortSignal and records
 * every request it got.
 */
export interface FakeChatRuntime extends Pick<Runtime, 'chat' | 'getModel' | 'countTokens' | 'listModels'> {
  readonly requests: ChatRequest[];
  /** How each recorded request ended. */
  readonly outcomes: ('done' | 'aborted')[];
}

export interface FakeChatOptions {
  readonly models?: readonly string[];
  readonly delayMs?: number;
  readonly reply?: (request: ChatRequest) => string;
  /**
   * The context each request must fit, counted in words (a message's words
   * plus one): a longer prompt fails the way the engine's does.
   */
  readonly contextSize?: number;
}

/** The fake's token count of a request's prompt: each message's words, plus one per message. */
export const fakePromptTokens = (request: Pick<ChatRequest, 'messages'>): number =>
  request.messages.reduce((sum, m) => sum + m.content.split(/\s+/).filter(Boolean).length + 1, 0);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
    }, { once: true });
  });

export const fakeModel = (name: string, kind: InstalledModel['kind'] = 'llm'): InstalledModel => ({
  name, kind, engine: 'llama-cpp', family: 'gguf', source: name, layout: { model: `${name}.gguf` },
  files: [], size: 1, pulledAt: new Date(0).toISOString(), dir: `/nonexistent/${name}`,
});

export const createFakeChatRuntime = (options: FakeChatOptions = {}): FakeChatRuntime => {
  const models = options.models ?? ['tiny'];
  const delayMs = options.delayMs ?? 5;
  const reply = options.reply ?? ((request) => `You said: ${request.messages.at(-1)?.content ?? ''}`);
  const requests: ChatRequest[] = [];
  const outcomes: ('done' | 'aborted')[] = [];
  return {
    requests,
    outcomes,
    getModel: async (name) => {
      if (!models.includes(name)) throw new ModelNotDownloadedError(name);
      return fakeModel(name);
    },
    listModels: async () => models.map((name) => fakeModel(name)),
    countTokens: async (request) => fakePromptTokens(request),
    chat: async (request): Promise<GenerationResult> => {
      requests.push(request);
      const promptTokens = fakePromptTokens(request);
      if (options.contextSize !== undefined && promptTokens >= options.contextSize) {
        // The engine's own words (src/engines/llm/generate.ts).
        throw new AppError('context_length_exceeded', `The prompt is ${promptTokens} tokens, but '${request.model}' holds ${options.contextSize} tokens per request.`, {
          hint: 'Shorten the prompt or the conversation history.',
          param: 'messages',
        });
      }
      const started = Date.now();
      const tokens = reply(request).split(/(?<= )/);
      let text = '';
      try {
        for (const token of tokens.slice(0, request.maxTokens ?? tokens.length)) {
          await sleep(delayMs, request.signal);
          text += token;
          request.onToken?.(token);
        }
      } catch (error) {
        outcomes.push('aborted');
        throw error;
      }
      outcomes.push('done');
      const totalMs = Math.max(1, Date.now() - started);
      const count = Math.min(tokens.length, request.maxTokens ?? tokens.length);
      return {
        model: request.model,
        text,
        finishReason: count < tokens.length ? 'length' : 'stop',
        usage: { promptTokens: request.messages.length, completionTokens: count, totalTokens: request.messages.length + count },
        timings: { firstTokenMs: delayMs, totalMs, tokensPerSecond: (count * 1000) / totalMs },
      };
    },
  };
};
