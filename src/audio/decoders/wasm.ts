// The compressed formats are decoded with eshaz's wasm-audio-decoders
// (mpg123-decoder, @wasm-audio-decoders/flac, ogg-opus-decoder,
// @wasm-audio-decoders/ogg-vorbis): pure WebAssembly with the .wasm inlined,
// so `npm install` never compiles or downloads anything and cannot fail on
// a platform. Each decodes incrementally, so a file is fed in pieces and
// memory stays bounded. They are imported lazily: `--help` never loads them.
import { AppError } from '../../errors.js';
import { mixToMono } from '../mixdown.js';
import type { ByteReader } from './byte-reader.js';
import { formatName } from './detect.js';
import { Rechunker, type AudioStream } from './types.js';

/** Formats the WASM decoders handle. */
export type WasmFormat = 'mp3' | 'flac' | 'ogg-flac' | 'ogg-opus' | 'ogg-vorbis';

export const WASM_FORMATS: readonly string[] = ['mp3', 'flac', 'ogg-flac', 'ogg-opus', 'ogg-vorbis'];

interface DecodedPiece {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

interface IncrementalDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): DecodedPiece | Promise<DecodedPiece>;
  flush?: () => Promise<DecodedPiece>;
  free(): void;
}

const createDecoder = async (format: WasmFormat): Promise<IncrementalDecoder> => {
  switch (format) {
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder();
    case 'flac':
    case 'ogg-flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder();
    case 'ogg-opus':
      return new (await import('ogg-opus-decoder')).OggOpusDecoder();
    case 'ogg-vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder();
  }
};

/** Seconds a FLAC file says it holds (STREAMINFO), when it says. */
const flacDuration = (head: Uint8Array): number | undefined => {
  if (head.length < 26) return undefined;
  const sampleRate = (head[18] << 12) | (head[19] << 4) | (head[20] >> 4);
  const totalSamples = (head[21] & 0x0f) * 2 ** 32 + ((head[22] << 24) >>> 0) + (head[23] << 16) + (head[24] << 8) + head[25];
  return sampleRate && totalSamples ? totalSamples / sampleRate : undefined;
};

/**
 * Decodes mp3, flac and ogg (opus, vorbis, flac) with the WASM decoders as
 * bytes are read. Resolves once the first audio is decoded (so the sample
 * rate is known); throws AppError('invalid_request') when the data cannot
 * be decoded at all.
 */
export const openWasmStream = async (format: WasmFormat, reader: ByteReader, chunkSeconds: number): Promise<AudioStream> => {
  const name = formatName(format);
  const head = format === 'flac' ? await reader.fill(26) : undefined;
  let decoder: IncrementalDecoder | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    decoder?.free();
    await reader.close();
  };
  const undecodable = (detail: string, cause?: unknown) =>
    new AppError('invalid_request', `Could not decode the ${name} audio: ${detail}.`, {
      hint: 'The file may be damaged; check that it plays, or convert it to WAV (`ffmpeg -i input output.wav`).',
      param: 'file',
      cause,
    });

  let finished = false;
  /** Decodes the next piece of bytes, then the decoder's flush at the end; undefined once finished. */
  const decodeNext = async (): Promise<DecodedPiece | undefined> => {
    if (finished) return undefined;
    const bytes = await reader.next();
    try {
      if (bytes) return await decoder!.decode(bytes);
      finished = true;
      return decoder!.flush ? await decoder!.flush() : undefined;
    } catch (error) {
      throw undecodable(error instanceof Error ? error.message : String(error), error);
    }
  };

  // Decode up to the first audio, which tells the sample rate and channels.
  let first: DecodedPiece | undefined;
  const errors: string[] = [];
  try {
    decoder = await createDecoder(format);
    await decoder.ready;
    while (!first && !finished) {
      const piece = await decodeNext();
      if (piece?.samplesDecoded) first = piece;
      else if (piece) errors.push(...piece.errors.map((e) => e.message));
    }
    if (!first) throw errors.length ? undecodable(errors.slice(0, 3).join('; ')) : new AppError('invalid_request', `The ${name} file holds no audio samples.`, { param: 'file' });
  } catch (error) {
    await close();
    throw error;
  }
  const start = first;
  const chunkFrames = Math.max(1, Math.round(start.sampleRate * chunkSeconds));
  let started = false;

  async function* chunks(): AsyncGenerator<Float32Array> {
    if (started) throw new AppError('internal', 'An audio stream can be read only once.');
    started = true;
    const rechunker = new Rechunker(chunkFrames);
    try {
      yield* rechunker.push(mixToMono(start.channelData, start.samplesDecoded));
      while (!finished) {
        const piece = await decodeNext();
        if (piece?.samplesDecoded) yield* rechunker.push(mixToMono(piece.channelData, piece.samplesDecoded));
      }
      const rest = rechunker.flush();
      if (rest) yield rest;
    } finally {
      await close();
    }
  }

  return {
    sampleRate: start.sampleRate,
    channels: start.channelData.length,
    duration: head ? flacDuration(head) : undefined,
    decoder: 'wasm',
    chunks,
    close,
  };
};
