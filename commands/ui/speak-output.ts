import { once } from 'node:events';
import { createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
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
  if (!stream.write(bytes)) await once(stream, 'drain');
};

/** A sink that encodes and writes bytes to a stream (a file or stdout). */
const encodedSink = (target: Extract<SinkTarget, { kind: 'file' | 'stdout' }>, stdout: Writable): AudioSink => {
  let encoder: import('../../src/audio/encode.js').AudioEncoder | undefined;
  let stream: Writable | undefined;
  let chain: Promise<void> = Promise.resolve();
  const temp = target.kind === 'file' ? partialPath(target.path) : undefined;
  const openStream = async (sampleRate: number) => {
    const { createEncoder } = await import('../../src/audio/encode.js');
    encoder = createEncoder(target.format, { sampleRate });
    stream = temp ? createWriteStream(temp) : stdout;
  };
  return {
    write(samples, sampleRate) {
      chain = chain.then(async () => {
        if (!encoder) await openStream(sampleRate);
        await write(stream!, encoder!.push(samples));
      });
    },
    async end() {
      await chain;
      if (!encoder) await openStream(16_000);
      await write(stream!, encoder!.end());
      if (!temp) return;
      const file = stream as WriteStream;
      file.end();
      await once(file, 'close');
      if (target.format === 'wav') await patchWavSizes(temp);
      await rename(temp, (target as { path: string }).path);
    },
    async abort() {
      await chain.catch(() => undefined);
      if (!temp || !stream) return;
      (stream as WriteStream).destroy();
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
