import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.js';
import { abortReason, AppError, EngineCrashError, EngineLoadError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { TokenLogprob } from '../../types/chat.js';
import type { AsrHandle, AsrOptions, AsrResult, AsrStream, SpeechSegment, VadHandle, VoiceDetector, VoiceUpdate } from '../speech/asr-types.js';
import { notStreaming } from '../speech/asr.js';
import type { SynthesizeOptions, TtsHandle } from '../speech/tts-types.js';
import type { EngineFactory, EngineHandle, EngineStats, LlmHandle } from '../types.js';
import { fromWire, type FromHost, type HandleInfo, type Method, type ToHost } from './protocol.js';

/**
 * Engines in child processes: each loaded model gets a process of its own
 * (host.ts), so a native abort, a segfault or a hang takes down that model's
 * requests only. The handle returned is a proxy with the same interface as
 * the in-process one; its `died` settles when the process exits unasked or
 * is killed for not answering:
 *
 * - a heartbeat: the process must answer a ping within `timeoutMs`
 *   (an event loop stuck in native code does not);
 * - a per-call watchdog: a call that has sent nothing for `timeoutMs` while
 *   the process used almost no CPU is stuck (a hang at 0% CPU, as sherpa-onnx
 *   does on some broken voices), and the process is killed. A busy process
 *   (a long prompt being read) is left to work.
 *
 * One process per model rather than per engine kind: a crash then fails
 * only the requests of the model that crashed, and an idle unload returns
 * all of a model's memory to the system. What it costs (a Node process,
 * ~40 MB, and ~0.1 s to start) is measured in bench/isolation.mjs.
 */

export interface ProcessEnginesOptions {
  /** The entry point of an engine process; default host.js beside this file. */
  readonly entry?: string;
  /** How long a process may go without answering (see above), in ms. */
  readonly timeoutMs: number;
  /** How long a process asked to exit may take before it is killed, in ms; default 1000. */
  readonly exitMs?: number;
}

export interface ProcessEngines {
  /** Loads a model in a new engine process. */
  readonly factory: EngineFactory;
  /** Engine processes alive now. */
  readonly count: number;
  /** Kills every engine process at once (shutdown past its grace); their handles die. */
  killAll(): void;
}

/** A call waiting for its answer. */
interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly onToken?: (text: string, logprobs?: readonly TokenLogprob[]) => void;
  readonly onThought?: (text: string) => void;
  readonly signal?: AbortSignal;
  /** When the process last said something about this call (performance.now()). */
  last: number;
}


/** A copy when `samples` is a view into a bigger buffer (the channel would send the whole buffer). */
const compact = (samples: Float32Array): Float32Array =>
  samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength ? samples : samples.slice();

/** "exit code 255" or "signal SIGABRT". */
const describeExit = (code: number | null, signal: NodeJS.Signals | null): string =>
  signal ? `killed by ${signal}${signal === 'SIGABRT' ? ' (a native abort)' : signal === 'SIGSEGV' ? ' (a segmentation fault)' : ''}` : `exit code ${code}`;

/**
 * Threads of the libuv pool in a speech engine process: how many syntheses
 * or decodes run at once, each with `threads` onnxruntime threads. Sized so
 * one speech model cannot take every core from the others (on 2 cores: one
 * at a time, beside chat's thread). A language model keeps Node's default:
 * llama.cpp runs its own `threads` threads, and batches its sequences itself.
 */
const poolSize = (config: Config, model: InstalledModel): number | undefined =>
  model.engine === 'sherpa-onnx' ? Math.max(1, Math.floor(availableParallelism() / Math.max(1, config.threads)) - 1) : undefined;

/**
 * How much an engine process yields the CPU when every core is busy (a
 * nice value). Speech and listening engines yield to language models: a
 * chat turn is one thread that its user waits on token by token, while the
 * speech work around a synthesis or a decode spreads over several threads
 * (encoding, uploads, VAD). Under 8 chat + 4 speech + 4 transcription
 * clients on 2 cores chat kept 43–47% of its rate alone at nice 0 or 5, 53%
 * at 10, with speech and transcription still served (bench/isolation.mjs).
 * With spare cores it changes nothing.
 */
const niceOf = (model: InstalledModel): number => (model.engine === 'sherpa-onnx' ? 10 : 0);

export const createProcessEngines = (config: Config, options: ProcessEnginesOptions): ProcessEngines => {
  const entry = options.entry ?? fileURLToPath(new URL('./host.js', import.meta.url));
  const exitMs = options.exitMs ?? 1000;
  const timeoutMs = options.timeoutMs;
  /** Each live engine process, with what stops it for good (shutdown: no crash is counted). */
  const live = new Map<ChildProcess, () => void>();

  const factory: EngineFactory = (model, { signal } = {}) =>
    new Promise<EngineHandle>((resolveLoad, rejectLoad) => {
      signal?.throwIfAborted();
      // Not a crash of the model's: the engine host itself is not there (murmur run from unbuilt sources, or a broken install).
      if (!existsSync(entry)) throw new EngineLoadError(`murmur's engine host ${entry} is missing, so '${model.name}' cannot load in an engine process.`, { hint: 'Reinstall murmur (or build it: `npm run build`), or set MURMUR_ISOLATION=none.' });
      const pool = poolSize(config, model);
      const child = fork(entry, [], {
        serialization: 'advanced',
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: [],
        env: { ...process.env, ...(pool ? { UV_THREADPOOL_SIZE: String(pool) } : {}) },
      });
      const pid = child.pid;
      const nice = niceOf(model);
      if (pid !== undefined && nice > 0) {
        try {
          setPriority(pid, nice);
        } catch {
          // not permitted here: the engine runs at the daemon's priority
        }
      }
      // The engine's own output goes on to the daemon's stderr; the last lines name a native abort's cause.
      let tail = '';
      const keep = (chunk: Buffer) => {
        process.stderr.write(chunk);
        tail = (tail + chunk.toString('utf8')).slice(-4096);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      /** The engine's last words, printable and short (sherpa-onnx's "file.cc:Function:line" prefix dropped). */
      const lastLine = () => {
        const line = tail
          .split('\n')
          .map((l) => l.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim())
          .filter(Boolean)
          .pop()
          ?.replace(/^\S*\.(?:cc|cpp|h):/, '');
        return line && line.length > 160 ? `${line.slice(0, 157)}...` : line;
      };

      const pending = new Map<number, Pending>();
      let ids = 0;
      let loaded = false;
      /** Set once the process is gone, by a crash, a kill or a dispose. */
      let gone: AppError | undefined;
      let disposing = false;
      let resolveDied!: (error: Error) => void;
      const died = new Promise<Error>((resolve) => (resolveDied = resolve));
      let exited!: () => void;
      const exitedPromise = new Promise<void>((resolve) => (exited = resolve));

      const post = (message: ToHost): boolean => {
        if (!child.connected) return false;
        try {
          child.send(message);
          return true;
        } catch {
          return false;
        }
      };

      /* The heartbeat and the per-call watchdog. */
      let lastPong = performance.now();
      let pings = 0;
      /** CPU samples {at, cpu µs}, covering at least the last `timeoutMs`. */
      const cpu: { at: number; cpu: number }[] = [];
      let killedFor: string | undefined;
      const kill = (why: string) => {
        if (killedFor || child.exitCode !== null || child.signalCode !== null) return;
        killedFor = why;
        child.kill('SIGKILL');
      };
      const beat = setInterval(
        () => {
          const now = performance.now();
          if (now - lastPong > timeoutMs) return kill(`it stopped answering for ${Math.round((now - lastPong) / 1000)} s`);
          const oldest = cpu[0];
          if (oldest && now - oldest.at >= timeoutMs) {
            const newest = cpu[cpu.length - 1]!;
            const busy = (newest.cpu - oldest.cpu) / 1000 / Math.max(1, newest.at - oldest.at);
            const stuck = [...pending.values()].some((call) => now - call.last > timeoutMs);
            if (stuck && busy < 0.02) return kill(`a request made no progress for ${Math.round(timeoutMs / 1000)} s with the engine idle`);
          }
          post({ t: 'ping', n: ++pings });
        },
        Math.max(50, Math.min(1000, timeoutMs / 4)),
      );
      beat.unref();

      live.set(child, () => {
        disposing = true;
        gone ??= new AppError('stopping', `The daemon shut down while '${model.name}' was working on this request.`, { hint: 'Send the request again once it is back.' });
        child.kill('SIGKILL');
      });

      const crashError = (how: string): AppError =>
        new EngineCrashError(loaded ? `The engine running '${model.name}' stopped (${how}).` : `The engine stopped while loading '${model.name}' (${how}).`, how, {
          hint: `murmur starts it again on the next request; if it keeps happening, its files may be bad: \`murmur pull ${model.name} --force\`.`,
        });

      child.on('exit', (code, exitSignal) => {
        live.delete(child);
        clearInterval(beat);
        const line = lastLine();
        const how = killedFor ?? `${describeExit(code, exitSignal)}${line && !disposing ? `: ${line}` : ''}`;
        gone ??= crashError(how);
        for (const call of pending.values()) call.reject(gone);
        pending.clear();
        exited();
        if (!loaded) rejectLoad(signal?.aborted ? abortReason(signal) : gone);
        else if (!disposing) resolveDied(new Error(how));
      });
      child.on('error', (error) => {
        // Spawning failed (the entry is missing, or the system is out of processes).
        if (!loaded && child.pid === undefined) {
          live.delete(child);
          clearInterval(beat);
          rejectLoad(new EngineLoadError(`Could not start an engine process for '${model.name}': ${error.message}`, { cause: error }));
        }
      });

      const onAbortLoad = () => kill('its load was cancelled');
      signal?.addEventListener('abort', onAbortLoad, { once: true });

      child.on('message', (message: FromHost) => {
        switch (message.t) {
          case 'pong': {
            const now = performance.now();
            lastPong = now;
            cpu.push({ at: now, cpu: message.cpu });
            while (cpu.length > 2 && now - cpu[1]!.at >= timeoutMs) cpu.shift();
            return;
          }
          case 'loaded':
            signal?.removeEventListener('abort', onAbortLoad);
            if (signal?.aborted) return kill('its load was cancelled');
            loaded = true;
            resolveLoad(proxy(message.info));
            return;
          case 'load_failed':
            signal?.removeEventListener('abort', onAbortLoad);
            gone = fromWire(message.error) as AppError;
            disposing = true;
            rejectLoad(gone);
            return;
          case 'token': {
            const call = pending.get(message.id);
            if (!call) return;
            call.last = performance.now();
            if (message.thought) call.onThought?.(message.text);
            else call.onToken?.(message.text, message.logprobs);
            return;
          }
          case 'result':
          case 'error': {
            const call = pending.get(message.id);
            if (!call) return;
            pending.delete(message.id);
            if (message.t === 'result') call.resolve(message.value);
            else call.reject(call.signal?.aborted ? abortReason(call.signal) : fromWire(message.error));
            return;
          }
          case 'disposed':
            return;
        }
      });

      /** Sends one call and resolves with its answer; `signal` sends a cancel, `onToken` receives streamed text. */
      const request = <T>(method: Method, args: readonly unknown[], signal?: AbortSignal, onToken?: Pending['onToken'], onThought?: Pending['onThought']): Promise<T> =>
        new Promise<T>((resolve, reject) => {
          if (gone) return reject(gone);
          if (signal?.aborted) return reject(abortReason(signal));
          const id = ++ids;
          // An abort answers at once, as an in-process engine does: the engine is told to stop, and a hung one cannot hold the caller.
          const onAbort = () => {
            if (!pending.delete(id)) return;
            post({ t: 'cancel', id });
            reject(abortReason(signal!));
          };
          const settle = () => signal?.removeEventListener('abort', onAbort);
          pending.set(id, {
            resolve: (value) => (settle(), resolve(value as T)),
            reject: (error) => (settle(), reject(error)),
            onToken,
            onThought,
            signal,
            last: performance.now(),
          });
          if (!post({ t: 'call', id, method, args, cancellable: signal !== undefined })) {
            pending.delete(id);
            settle();
            return reject(gone ?? crashError('its channel closed'));
          }
          signal?.addEventListener('abort', onAbort, { once: true });
        });

      const dispose = async () => {
        if (disposing || gone) return exitedPromise;
        disposing = true;
        if (!post({ t: 'dispose' })) child.kill('SIGKILL');
        const timer = setTimeout(() => child.kill('SIGKILL'), exitMs);
        await exitedPromise;
        clearTimeout(timer);
      };

      const proxy = (info: HandleInfo): EngineHandle => {
        const base = {
          kind: info.kind,
          pid,
          died,
          stats: () => request<EngineStats>('stats', []),
          dispose,
        };
        switch (info.kind) {
          case 'llm':
          case 'embedding': {
            const handle: LlmHandle = {
              ...base,
              contextSize: info.contextSize ?? 0,
              chat: ({ onToken, onThought, signal: callSignal, ...plain }) => request('chat', [plain], callSignal, onToken, onThought),
              countTokens: ({ onToken: _onToken, onThought: _onThought, signal: callSignal, ...plain }) => request('countTokens', [plain], callSignal),
              complete: ({ onToken, signal: callSignal, ...plain }) => request('complete', [plain], callSignal, onToken),
              embed: (input, callSignal, options) => request('embed', [input, options ?? {}], callSignal),
            };
            return handle;
          }
          case 'tts': {
            const handle: TtsHandle = {
              ...base,
              kind: 'tts',
              sampleRate: info.sampleRate ?? 0,
              voices: info.voices ?? [],
              defaultVoice: info.defaultVoice ?? '',
              synthesize: (text, { signal: callSignal, ...plain }: SynthesizeOptions = {}) => request('synthesize', [text, plain], callSignal),
            };
            return handle;
          }
          case 'asr': {
            let streams = 0;
            const handle: AsrHandle = {
              ...base,
              kind: 'asr',
              sampleRate: info.sampleRate ?? 16_000,
              languages: info.languages ?? [],
              canTranslate: info.canTranslate ?? false,
              streaming: info.streaming ?? false,
              transcribe: (samples, rate, { signal: callSignal, ...plain }: AsrOptions = {}) => request('transcribe', [compact(samples), rate, plain], callSignal),
              // As a voice detector: the stream is made in the engine under an id of ours; calls wait for it and go in order.
              openStream: (rate): AsrStream => {
                if (!info.streaming) throw notStreaming(model);
                const id = ++streams;
                const ready = request<void>('asrOpen', [id, rate]);
                ready.catch(() => undefined);
                let closed = false;
                let text = '';
                return {
                  accept: async (samples) => (closed ? text : (await ready, (text = await request<string>('asrAccept', [id, compact(samples)])))),
                  // Finishing frees the engine's stream too.
                  finish: async () => {
                    if (closed) return { text };
                    closed = true;
                    await ready;
                    const result = await request<AsrResult>('asrFinish', [id]);
                    text = result.text;
                    return result;
                  },
                  close: () => {
                    if (closed) return;
                    closed = true;
                    request('asrClose', [id]).catch(() => undefined);
                  },
                };
              },
            };
            return handle;
          }
          case 'vad': {
            let detectors = 0;
            const handle: VadHandle = {
              ...base,
              kind: 'vad',
              sampleRate: info.sampleRate ?? 16_000,
              open: (rate, settings): VoiceDetector => {
                const id = ++detectors;
                const ready = request<void>('vadOpen', [id, rate, settings ?? {}]);
                ready.catch(() => undefined);
                let closed = false;
                return {
                  accept: async (samples) => (closed ? [] : (await ready, request<SpeechSegment[]>('vadAccept', [id, compact(samples)]))),
                  listen: async (samples) => (closed ? { segments: [], speaking: false } : (await ready, request<VoiceUpdate>('vadListen', [id, compact(samples)]))),
                  flush: async () => (closed ? [] : (await ready, request<SpeechSegment[]>('vadFlush', [id]))),
                  close: () => {
                    if (closed) return;
                    closed = true;
                    request('vadClose', [id]).catch(() => undefined);
                  },
                };
              },
            };
            return handle;
          }
        }
      };

      if (!post({ t: 'load', model, config })) {
        // 'exit' or 'error' follows and settles the load.
      }
    });

  return {
    factory,
    get count() {
      return live.size;
    },
    killAll() {
      for (const stop of live.values()) stop();
    },
  };
};
