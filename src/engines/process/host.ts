import { createEngineRegistry } from '../registry.js';
import type { AsrHandle, AsrStream, VadHandle, VoiceDetector } from '../speech/asr-types.js';
import type { TtsHandle } from '../speech/tts-types.js';
import type { EmbedInput, TokenLogprob } from '../../types/chat.js';
import type { EmbedOptions, EngineHandle, LlmHandle } from '../types.js';
import { toWire, type FromHost, type HandleInfo, type Method, type ToHost } from './protocol.js';

/**
 * An engine process: the daemon forks one per loaded model (see
 * supervisor.ts) and this file is its entry point. It loads the one model
 * it is told to with the in-process engines, then runs the calls that come
 * over the IPC channel. A native abort here ends this process only; the
 * daemon sees the exit and fails this model's requests. It exits when told
 * to, or when the daemon goes away (the channel closes).
 */

const send = (message: FromHost) => {
  if (process.connected) process.send!(message);
};

const infoOf = (handle: EngineHandle): HandleInfo => {
  switch (handle.kind) {
    case 'llm':
    case 'embedding':
      return { kind: handle.kind, contextSize: (handle as LlmHandle).contextSize };
    case 'tts': {
      const tts = handle as TtsHandle;
      return { kind: 'tts', sampleRate: tts.sampleRate, voices: tts.voices, defaultVoice: tts.defaultVoice };
    }
    case 'asr': {
      const asr = handle as AsrHandle;
      return { kind: 'asr', sampleRate: asr.sampleRate, languages: asr.languages, canTranslate: asr.canTranslate, streaming: asr.streaming };
    }
    case 'vad':
      return { kind: 'vad', sampleRate: (handle as VadHandle).sampleRate };
  }
};

let handle: EngineHandle | undefined;
const calls = new Map<number, AbortController>();
const detectors = new Map<number, VoiceDetector>();

const streams = new Map<number, AsrStream>();

const detector = (id: number): VoiceDetector => {
  const found = detectors.get(id);
  if (!found) throw new Error(`No voice detector ${id} is open.`);
  return found;
};

const asrStream = (id: number): AsrStream => {
  const found = streams.get(id);
  if (!found) throw new Error(`No asr stream ${id} is open.`);
  return found;
};

/** Runs one method of the loaded handle; `token` streams text back for chat and completion. */
const dispatch = (
  method: Method,
  args: readonly unknown[],
  signal: AbortSignal | undefined,
  token: (text: string, logprobs?: readonly TokenLogprob[]) => void,
  thought: (text: string) => void,
): Promise<unknown> | unknown => {
  const h = handle!;
  switch (method) {
    case 'stats':
      return h.stats();
    case 'chat':
      return (h as LlmHandle).chat({ ...(args[0] as object), onToken: token, onThought: thought, signal } as Parameters<LlmHandle['chat']>[0]);
    case 'countTokens':
      return (h as LlmHandle).countTokens({ ...(args[0] as object), signal } as Parameters<LlmHandle['countTokens']>[0]);
    case 'complete':
      return (h as LlmHandle).complete({ ...(args[0] as object), onToken: token, signal } as Parameters<LlmHandle['complete']>[0]);
    case 'embed':
      return (h as LlmHandle).embed(args[0] as EmbedInput[], signal, args[1] as EmbedOptions | undefined);
    case 'synthesize':
      return (h as TtsHandle).synthesize(args[0] as string, { ...(args[1] as object), signal });
    case 'transcribe':
      return (h as AsrHandle).transcribe(args[0] as Float32Array, args[1] as number, { ...(args[2] as object), signal });
    case 'vadOpen':
      detectors.set(args[0] as number, (h as VadHandle).open(args[1] as number, args[2] as object));
      return undefined;
    case 'vadAccept':
      return detector(args[0] as number).accept(args[1] as Float32Array);
    case 'vadListen':
      return detector(args[0] as number).listen(args[1] as Float32Array);
    case 'vadFlush':
      return detector(args[0] as number).flush();
    case 'vadClose':
      detectors.get(args[0] as number)?.close();
      detectors.delete(args[0] as number);
      return undefined;
    case 'asrOpen':
      streams.set(args[0] as number, (h as AsrHandle).openStream(args[1] as number));
      return undefined;
    case 'asrAccept':
      return asrStream(args[0] as number).accept(args[1] as Float32Array);
    case 'asrFinish': {
      // A finished stream is done with: it goes from the table as it closes.
      const stream = asrStream(args[0] as number);
      streams.delete(args[0] as number);
      return stream.finish();
    }
    case 'asrClose':
      streams.get(args[0] as number)?.close();
      streams.delete(args[0] as number);
      return undefined;
  }
};

const call = async (message: Extract<ToHost, { t: 'call' }>) => {
  const controller = message.cancellable ? new AbortController() : undefined;
  if (controller) calls.set(message.id, controller);
  try {
    const value = await dispatch(
      message.method,
      message.args,
      controller?.signal,
      (text, logprobs) => send({ t: 'token', id: message.id, text, ...(logprobs ? { logprobs } : {}) }),
      (text) => send({ t: 'token', id: message.id, text, thought: true }),
    );
    send({ t: 'result', id: message.id, value });
  } catch (error) {
    send({ t: 'error', id: message.id, error: toWire(error) });
  } finally {
    calls.delete(message.id);
  }
};

const exit = async () => {
  const held = handle;
  handle = undefined;
  for (const controller of calls.values()) controller.abort(new DOMException('The engine is shutting down.', 'AbortError'));
  await held?.dispose().catch(() => undefined);
  send({ t: 'disposed' });
  process.exit(0);
};

process.on('message', (message: ToHost) => {
  switch (message.t) {
    case 'load':
      if (handle) return;
      createEngineRegistry(message.config)(message.model)(message.model).then(
        (loaded) => {
          handle = loaded;
          send({ t: 'loaded', info: infoOf(loaded) });
        },
        (error) => {
          send({ t: 'load_failed', error: toWire(error) });
          // Loading is the only job: nothing is left to do, so go.
          setImmediate(() => process.exit(0));
        },
      );
      return;
    case 'call':
      void call(message);
      return;
    case 'cancel':
      calls.get(message.id)?.abort(new DOMException('The request was cancelled.', 'AbortError'));
      return;
    case 'ping': {
      const { user, system } = process.cpuUsage();
      send({ t: 'pong', n: message.n, cpu: user + system });
      return;
    }
    case 'dispose':
      void exit();
      return;
  }
});

// The daemon went away (even by SIGKILL): nobody is left to serve.
process.on('disconnect', () => process.exit(0));
