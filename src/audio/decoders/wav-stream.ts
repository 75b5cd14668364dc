import { AppError } from '../../errors.js';
import { framesToMono } from '../mixdown.js';
import { assertHasFrames, scanWavHeader, type WavInfo } from '../wav-read.js';
import type { ByteReader } from './byte-reader.js';
import type { AudioStream } from './types.js';

export interface WavStreamOptions {
  /** The whole source's size in bytes when known (a file); undefined for a pipe. */
  totalBytes?: number;
  chunkSeconds: number;
  decoder?: AudioStream['decoder'];
}

/** Reads the header, buffering no more than it needs; the reader is left at the first sample. */
export const readWavHeader = async (reader: ByteReader, totalBytes?: number): Promise<WavInfo> => {
  let want = 4096;
  for (;;) {
    const head = await reader.fill(want);
    const scan = scanWavHeader(head, totalBytes, reader.ended);
    if ('info' in scan) {
      reader.consume(scan.info.dataOffset);
      return scan.info;
    }
    want = Math.max(scan.needBytes, head.length + 4096);
  }
};

/**
 * Decodes a WAV as it is read: the header first, then whole frames converted
 * to mono chunks as bytes arrive. A data chunk cut short yields what is
 * there; a data size of 0xFFFFFFFF (streamed WAVs) reads to the end.
 */
export const openWavStream = async (reader: ByteReader, options: WavStreamOptions): Promise<AudioStream> => {
  let info: WavInfo;
  try {
    info = await readWavHeader(reader, options.totalBytes);
    if (info.frames !== Infinity) assertHasFrames(info.frames);
  } catch (error) {
    await reader.close();
    throw error;
  }
  const chunkFrames = Math.max(1, Math.round(info.sampleRate * options.chunkSeconds));
  let started = false;

  async function* chunks(): AsyncGenerator<Float32Array> {
    if (started) throw new AppError('internal', 'An audio stream can be read only once.');
    started = true;
    // Frames are converted straight into the chunk being filled: no copies.
    let chunk = new Float32Array(chunkFrames);
    let filled = 0;
    let remaining = info.dataBytes; // Infinity when the length is unknown
    let carry: Uint8Array | undefined; // part of a frame split between two reads
    let frames = 0;
    try {
      while (remaining > 0) {
        let piece = await reader.next();
        if (!piece) break;
        if (piece.length > remaining) piece = piece.subarray(0, remaining);
        remaining -= piece.length;
        if (carry) {
          const joined = new Uint8Array(carry.length + piece.length);
          joined.set(carry);
          joined.set(piece, carry.length);
          piece = joined;
          carry = undefined;
        }
        const whole = Math.floor(piece.length / info.blockAlign);
        if (whole * info.blockAlign < piece.length) carry = piece.slice(whole * info.blockAlign);
        for (let done = 0; done < whole; ) {
          const take = Math.min(chunkFrames - filled, whole - done);
          framesToMono(piece.subarray(done * info.blockAlign, (done + take) * info.blockAlign), info, chunk, filled);
          filled += take;
          done += take;
          if (filled === chunkFrames) {
            yield chunk;
            chunk = new Float32Array(chunkFrames);
            filled = 0;
          }
        }
        frames += whole;
      }
      if (filled) yield chunk.slice(0, filled);
      if (frames === 0) assertHasFrames(0);
    } finally {
      await reader.close();
    }
  }

  return {
    sampleRate: info.sampleRate,
    channels: info.channels,
    duration: Number.isFinite(info.duration) ? info.duration : undefined,
    decoder: options.decoder ?? 'wav',
    chunks,
    close: () => reader.close(),
  };
};
