import { once } from 'node:events';
import { createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { AudioFormat } from '../../src/audio/encode.js';

/**
 * Where `murmur speak` sends audio: the speakers, a file (written to a
 * temporary name and renamed at the end, so a failure leaves no partial
 * file) or stdout. Sinks open on the first audio (its sample rate decides
 * the encoder) and take samples in order; writes queue so synthesis never
 * waits for playback.
 */
export interface AudioSink {
  write(samples: Float32Array, sampleRate: number): void;
  /** Waits for everything queued, then closes. */
  end(): Promise<void>;
  /** Stops at once and removes a partial file. */
  abort(): Promise<void>;
}

export type SinkTarget = { readonly kind: 'speakers' } | { readonly kind: 'file'; readonly path: string; readonly format: AudioFormat } | { readonly kind: 'stdout'; readonly format: AudioFormat };

/** Throws a clear AppError when `path`'s directory is missing or not a directory. */
export const checkOutputPath = async (path: string): Promise<void> => {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const { AppError } = await import('../../src/errors.js');
    throw new AppError('invalid_request', `Cannot write ${path}: the directory ${dir} does not exist.`, { hint: `Create it first (mkdir -p ${dir}) or choose another path.` });
  }
};

/** A temporary name beside `path`, so the final rename stays on one file system. */
export const partialPath = (path: string): string => join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.partial`);

/** Fixes the RIFF and data sizes of a WAV written with a streaming header (sizes unknown while streaming). */
export const patchWavSizes = async (path: string): Promise<void> => {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await file.read(head, 0, head.length, 0);
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return;
    let at = 12;
    while (at + 8 <= head.length) {
      const id = head.toString('ascii', at, at + 4);
      const length = head.readUInt32LE(at + 4);
      if (id === 'data') {
        const sizes = Buffer.alloc(4);
        sizes.writeUInt32LE(size - 8);
        await file.write(sizes, 0, 4, 4);
        sizes.writeUInt32LE(size - at - 8);
        await file.write(sizes, 0, 4, at + 4);
        return;
      }
      at += 8 + length + (length % 2);
    }
  } finally {
    await file.close();
  }
};

const write = async (stream: Writable, bytes: Uint8Array): Promise<void> => {
  if (!bytes.length) return;
  // once() rejects on 'error' too, so a failed write is not waited on forever.
  if (!stream.write(bytes)) await once(stream, 'drain');
};

/** Closes a file stream and waits until its descriptor is released (whether it ended or failed). */
const closeFile = async (file: WriteStream, finish: boolean): Promise<void> => {
  if (file.closed) return;
  const closed = once(file, 'close').catch(() => undefined);
  if (finish) file.end();
  else file.destroy();
  await closed;
};

/**
 * A sink that encodes and writes bytes to a stream (a file or stdout). A
 * file is written as `.NAME.PID.partial` beside its final name and renamed
 * only once complete; abort() (Ctrl-C, a failure) closes and removes it.
 */
const encodedSink = (target: Extract<SinkTarget, { kind: 'file' | 'stdout' }>, stdout: Writable): AudioSink => {
  let encoder: import('../../src/audio/encode.js').AudioEncoder | undefined;
  let stream: Writable | undefined;
  let failure: Error | undefined;
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const temp = target.kind === 'file' ? partialPath(target.path) : undefined;
  const openStream = async (sampleRate: number) => {
    const { createEncoder } = await import('../../src/audio/encode.js');
    encoder = createEncoder(target.format, { sampleRate });
    if (!temp) return void (stream = stdout);
    const file = createWriteStream(temp);
    // Kept, not thrown from an emitter: end() reports it, abort() ignores it (a write cut short by destroy()).
    file.on('error', (error) => void (failure ??= error));
    stream = file;
  };
  const check = () => {
    if (failure) throw failure;
  };
  return {
    write(samples, sampleRate) {
      chain = chain.then(async () => {
        // Audio can arrive faster than mp3/opus encode it (a daemon synthesizes quicker than this
        // process encodes): after abort() the backlog is dropped, not encoded, and each chunk first
        // lets pending events (a SIGINT) run, so Ctrl-C is not held up behind seconds of encoding.
        await setImmediatePromise();
        if (stopped) return;
        check();
        if (!encoder) await openStream(sampleRate);
        await write(stream!, encoder!.push(samples));
      });
    },
    async end() {
      await chain;
      if (!encoder) await openStream(16_000);
      await write(stream!, encoder!.end());
      if (!temp) return;
      await closeFile(stream as WriteStream, true);
      check();
      if (target.format === 'wav') await patchWavSizes(temp);
      await rename(temp, (target as { path: string }).path);
    },
    async abort() {
      stopped = true;
      await chain.catch(() => undefined);
      encoder?.dispose();
      if (!temp) return;
      if (stream) await closeFile(stream as WriteStream, false);
      await rm(temp, { force: true });
    },
  };
};

/** Speakers: playback opens on the first audio and is fed continuously, so sentences follow with no gap. */
const speakerSink = (): AudioSink => {
  let playback: import('../../src/audio/playback.js').Playback | undefined;
  let chain: Promise<void> = Promise.resolve();
  return {
    write(samples, sampleRate) {
      chain = chain.then(async () => {
        if (!playback) {
          const { openPlayback } = await import('../../src/audio/playback.js');
          playback = await openPlayback({ sampleRate });
        }
        await playback.write(samples);
      });
    },
    async end() {
      await chain;
      await playback?.end();
    },
    async abort() {
      playback?.abort();
      await chain.catch(() => undefined);
    },
  };
};

/** Opens the sink for `target`; the speakers are checked first (a clear error when there is no output device). */
export const openSink = async (target: SinkTarget, stdout: Writable): Promise<AudioSink> => {
  if (target.kind === 'file') await checkOutputPath(target.path);
  if (target.kind !== 'speakers') return encodedSink(target, stdout);
  const [{ hasOutputDevice }, { AppError }] = await Promise.all([import('../../src/audio/playback.js'), import('../../src/errors.js')]);
  if (!(await hasOutputDevice())) {
    throw new AppError('not_supported', 'No audio output device was found to play on.', { hint: 'Write to a file with `-o speech.wav`, or to stdout with `-o -` (e.g. `| aplay`).' });
  }
  return speakerSink();
};

/** What `murmur speak --json` reports once the audio is written. */
export interface SpokenReport {
  /** The file written (absolute), "-" for stdout, or "speakers". */
  readonly path: string;
  readonly format: AudioFormat | 'speakers';
  readonly model: string;
  readonly voice?: string;
  /** Hz of the audio written (an encoder may change the voice's rate: Opus is always 48000). */
  readonly sampleRate?: number;
  readonly durationSeconds: number;
  readonly characters: number;
  readonly timings: { readonly firstAudioMs?: number; readonly totalMs: number; readonly realTimeFactor: number };
}

/** The --json report of a one-shot speak: where it went, the audio's shape and the timings (realTimeFactor = total time / audio duration). */
export const describeSpoken = async (
  target: SinkTarget,
  summary: { readonly characters: number; readonly seconds: number; readonly firstAudioMs?: number },
  facts: { readonly model: string; readonly voice?: string; readonly sampleRate?: number; readonly totalMs: number },
): Promise<SpokenReport> => {
  let sampleRate = facts.sampleRate;
  if (target.kind !== 'speakers' && sampleRate !== undefined) sampleRate = (await import('../../src/audio/encode.js')).encodedRate(target.format, sampleRate);
  const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;
  return {
    path: target.kind === 'file' ? resolve(target.path) : target.kind === 'stdout' ? '-' : 'speakers',
    format: target.kind === 'speakers' ? 'speakers' : target.format,
    model: facts.model,
    ...(facts.voice ? { voice: facts.voice } : {}),
    ...(sampleRate !== undefined ? { sampleRate } : {}),
    durationSeconds: round(summary.seconds, 3),
    characters: summary.characters,
    timings: {
      ...(summary.firstAudioMs !== undefined ? { firstAudioMs: round(summary.firstAudioMs) } : {}),
      totalMs: round(facts.totalMs),
      realTimeFactor: summary.seconds > 0 ? round(facts.totalMs / 1000 / summary.seconds, 4) : 0,
    },
  };
};
