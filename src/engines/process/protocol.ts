import { AppError, EngineLoadError, type ErrorCode } from '../../errors.js';
import type { Config } from '../../config.js';
import type { InstalledModel } from '../../store/types.js';
import type { TokenLogprob } from '../../types/chat.js';
import type { ModelKind } from '../../types/models.js';
import type { TtsVoice } from '../speech/tts-types.js';

/**
 * The messages between the daemon and an engine process (src/engines/process/host.ts),
 * sent over Node's IPC channel with the 'advanced' serialization, so typed
 * arrays (audio) and Dates cross as they are. Every message is plain data:
 * callbacks become `token` messages and AbortSignals become `cancel`.
 */

/** What a loaded model's handle says of itself, so the proxy can answer without asking. */
export interface HandleInfo {
  readonly kind: ModelKind;
  readonly contextSize?: number;
  readonly sampleRate?: number;
  readonly voices?: readonly TtsVoice[];
  readonly defaultVoice?: string;
  readonly languages?: readonly string[];
  readonly canTranslate?: boolean;
  /** An asr model that decodes as audio arrives (AsrHandle.streaming). */
  readonly streaming?: boolean;
}

/**
 * The methods a proxy forwards; each takes plain arguments and resolves with
 * plain data. A stateful object of the handle's (a voice detector, an asr
 * stream) is named by an id the proxy chooses: `…Open` makes it, the
 * other calls take the id first, `…Close` frees it.
 */
export type Method =
  | 'chat'
  | 'complete'
  | 'countTokens'
  | 'embed'
  | 'synthesize'
  | 'transcribe'
  | 'vadOpen'
  | 'vadAccept'
  | 'vadListen'
  | 'vadFlush'
  | 'vadClose'
  | 'asrOpen'
  | 'asrAccept'
  | 'asrFinish'
  | 'asrClose'
  | 'stats';

export type ToHost =
  | { readonly t: 'load'; readonly model: InstalledModel; readonly config: Config }
  | { readonly t: 'call'; readonly id: number; readonly method: Method; readonly args: readonly unknown[]; readonly cancellable: boolean }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'ping'; readonly n: number }
  | { readonly t: 'dispose' };

export type FromHost =
  | { readonly t: 'loaded'; readonly info: HandleInfo }
  | { readonly t: 'load_failed'; readonly error: WireError }
  /** Streamed text of a chat or completion; `thought` marks a thinking model's thought, which is not the reply's text. */
  | { readonly t: 'token'; readonly id: number; readonly text: string; readonly logprobs?: readonly TokenLogprob[]; readonly thought?: true }
  | { readonly t: 'result'; readonly id: number; readonly value: unknown }
  | { readonly t: 'error'; readonly id: number; readonly error: WireError }
  | { readonly t: 'pong'; readonly n: number; /** CPU time the process has used, in µs (user + system). */ readonly cpu: number }
  | { readonly t: 'disposed' };

/** An error as it crosses the channel. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: ErrorCode;
  readonly hint?: string;
  readonly param?: string;
}

export const toWire = (error: unknown): WireError => {
  if (error instanceof AppError) return { name: error.name, message: error.message, code: error.code, hint: error.hint, param: error.param };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
};

/** Rebuilds an error sent by toWire: AppErrors keep their code, hint and param; aborts stay AbortErrors. */
export const fromWire = (wire: WireError): Error => {
  if (wire.code) {
    const options = { hint: wire.hint, param: wire.param };
    const error = wire.code === 'engine_load_failed' ? new EngineLoadError(wire.message, options) : new AppError(wire.code, wire.message, options);
    error.name = wire.name;
    return error;
  }
  if (wire.name === 'AbortError') return new DOMException(wire.message, 'AbortError');
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
};
