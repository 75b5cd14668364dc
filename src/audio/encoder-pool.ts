import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import { contentTypeOf, createEncoder, encodedRate, isAudioFormat, type AudioFormat, type EncoderOptions } from './encode.js';
import type { FromEncoder, ToEncoder } from './encoder-thread.js';

/**
 * Streaming encoders whose work runs on worker threads, so a daemon
 * encoding mp3 or opus for many listeners keeps its event loop for
 * requests: under 8 chat + 4 speech + 4 transcription clients, lamejs on
 * the event loop took half of it and chat fell to 18% of its rate alone.
 * Each encoder is pinned to one thread (codecs keep state across pushes);
 * pushes and the end resolve in order. Hand-written rather than a pool
 * library: pools such as piscina run stateless tasks, and these are
 * stateful sessions.
 */

/** A streaming encoder whose push and end resolve with the bytes (in the order called). */
export interface AsyncAudioEncoder {
  readonly format: AudioFormat;
  readonly contentType: string;
  /** Rate of the encoded audio in Hz (known at once: see encodedRate). */
  readonly sampleRate: number;
  push(samples: Float32Array): Promise<Uint8Array>;
  /** Finishes the stream and frees the codec. */
  end(): Promise<Uint8Array>;
  /** Frees the codec without finishing (safe after end). */
  dispose(): void;
}

export interface EncoderPool {
  /** A streaming encoder for `format` (AppError('invalid_request') for an unknown one, as createEncoder). */
  open(format: AudioFormat, options: EncoderOptions): AsyncAudioEncoder;
  /** Stops the threads. */
  close(): Promise<void>;
}

export interface EncoderPoolOptions {
  /** Worker threads; 0 encodes on the calling thread. Default: cores - 1, at most 4, at least 1. */
  readonly threads?: number;
  /** How much the threads yield to others (a Linux nice value, 0–19); default 10. */
  readonly nice?: number;
}

const threadEntry = fileURLToPath(new URL('./encoder-thread.js', import.meta.url));

/** Encodes on the calling thread, behind the same interface (one-shot commands, sources run without a build). */
const inline = (format: AudioFormat, options: EncoderOptions): AsyncAudioEncoder => {
  const encoder = createEncoder(format, options);
  return {
    format,
    contentType: encoder.contentType,
    sampleRate: encoder.sampleRate,
    push: async (samples) => encoder.push(samples),
    end: async () => encoder.end(),
    dispose: () => encoder.dispose(),
  };
};

interface Thread {
  readonly worker: Worker;
  /** Answers awaited, by encoder id and sequence number. */
  readonly waiting: Map<string, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>;
  sessions: number;
}

export const createEncoderPool = (options: EncoderPoolOptions = {}): EncoderPool => {
  const count = options.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  // Running from the TypeScript sources (the thread's .js is not built): encode inline.
  if (count === 0 || !existsSync(threadEntry)) return { open: inline, close: async () => undefined };

  const threads: Thread[] = [];
  let closed = false;
  const spawn = (): Thread => {
    const worker = new Worker(threadEntry, { workerData: { nice: options.nice ?? 10 } });
    worker.unref();
    const thread: Thread = { worker, waiting: new Map(), sessions: 0 };
    worker.on('message', (message: FromEncoder) => {
      const key = `${message.id}/${message.seq}`;
      const waiter = thread.waiting.get(key);
      if (!waiter) return;
      thread.waiting.delete(key);
      if ('error' in message) waiter.reject(new AppError('internal', `Encoding failed: ${message.error}`));
      else waiter.resolve(message.bytes);
    });
    const fail = (error: Error) => {
      for (const waiter of thread.waiting.values()) waiter.reject(new AppError('internal', `The audio encoder stopped: ${error.message}`));
      thread.waiting.clear();
      const at = threads.indexOf(thread);
      if (at >= 0 && !closed) threads[at] = spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => code !== 0 && fail(new Error(`exit code ${code}`)));
    return thread;
  };
  // Threads start when first needed (a daemon that never speaks starts none), up to `count`.
  const pick = (): Thread => {
    const idle = threads.find((t) => t.sessions === 0);
    if (idle) return idle;
    if (threads.length < count) {
      const fresh = spawn();
      threads.push(fresh);
      return fresh;
    }
    return threads.reduce((best, t) => (t.sessions < best.sessions ? t : best));
  };
  let ids = 0;

  return {
    open(format, encoderOptions) {
      if (!isAudioFormat(format)) return inline(format, encoderOptions); // throws the usual error
      const thread = pick();
      const id = ++ids;
      let seq = 0;
      let open = true;
      thread.sessions += 1;
      const leave = () => {
        if (!open) return;
        open = false;
        thread.sessions -= 1;
      };
      const send = (message: ToEncoder) => thread.worker.postMessage(message);
      send({ t: 'open', id, format, options: { ...encoderOptions } });
      const ask = (message: ToEncoder & { seq: number }) =>
        new Promise<Uint8Array>((resolve, reject) => {
          thread.waiting.set(`${id}/${message.seq}`, { resolve, reject });
          send(message);
        });
      return {
        format,
        contentType: contentTypeOf(format),
        sampleRate: encodedRate(format, encoderOptions.sampleRate, encoderOptions.outputRate),
        push: (samples) => (open ? ask({ t: 'push', id, seq: ++seq, samples }) : Promise.resolve(new Uint8Array(0))),
        end: () => {
          if (!open) return Promise.resolve(new Uint8Array(0));
          const last = ask({ t: 'end', id, seq: ++seq });
          leave();
          return last;
        },
        dispose: () => {
          if (!open) return;
          leave();
          send({ t: 'dispose', id });
        },
      };
    },
    async close() {
      closed = true;
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
};
