import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createEncoder, type AudioEncoder, type AudioFormat, type EncoderOptions } from './encode.js';

/**
 * A worker thread of the encoder pool (encoder-pool.ts): it holds the
 * streaming encoders of the sessions given to it and answers each push or
 * end with its bytes, in order. The codecs are JavaScript and WASM, so a
 * thread is enough to take their work off the daemon's event loop.
 */

export type ToEncoder =
  | { readonly t: 'open'; readonly id: number; readonly format: AudioFormat; readonly options: EncoderOptions }
  | { readonly t: 'push'; readonly id: number; readonly seq: number; readonly samples: Float32Array }
  | { readonly t: 'end'; readonly id: number; readonly seq: number }
  | { readonly t: 'dispose'; readonly id: number };

export type FromEncoder =
  | { readonly id: number; readonly seq: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly seq: number; readonly error: string };

/*
 * Encoding is bulk work beside the requests it serves: on Linux this thread
 * lowers its own priority (its id from /proc/thread-self), so under full
 * load the event loop and the engines' threads come first.
 */
const nice = (workerData as { nice?: number } | undefined)?.nice ?? 0;
if (nice > 0 && process.platform === 'linux') {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice);
  } catch {
    // not permitted, or no /proc: run at the daemon's priority
  }
}

const sessions = new Map<number, AudioEncoder>();
const port = parentPort!;

/** Sends `bytes` in a buffer of their own, moved rather than copied. */
const reply = (id: number, seq: number, bytes: Uint8Array) => {
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
  const message: FromEncoder = { id, seq, bytes: own };
  port.postMessage(message, [own.buffer as ArrayBuffer]);
};

port.on('message', (message: ToEncoder) => {
  try {
    switch (message.t) {
      case 'open':
        sessions.set(message.id, createEncoder(message.format, message.options));
        return;
      case 'push': {
        const encoder = sessions.get(message.id);
        if (!encoder) throw new Error(`No encoder ${message.id} is open.`);
        return reply(message.id, message.seq, encoder.push(message.samples));
      }
      case 'end': {
        const encoder = sessions.get(message.id);
        if (!encoder) throw new Error(`No encoder ${message.id} is open.`);
        sessions.delete(message.id);
        return reply(message.id, message.seq, encoder.end());
      }
      case 'dispose':
        sessions.get(message.id)?.dispose();
        sessions.delete(message.id);
        return;
    }
  } catch (error) {
    if (message.t === 'push' || message.t === 'end') port.postMessage({ id: message.id, seq: message.seq, error: (error as Error).message } satisfies FromEncoder);
  }
});
