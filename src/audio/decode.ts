import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';
import { checkAudioShape } from './wav-read.js';
import { ByteReader, fileBytes, memoryBytes } from './decoders/byte-reader.js';
import { detectAudioFormat, formatName, SNIFF_BYTES, type AudioFormat } from './decoders/detect.js';
import { FfmpegFailedError, findFfmpeg, openFfmpegStream, type FfmpegSource } from './decoders/ffmpeg.js';
import type { AudioStream } from './decoders/types.js';
import { openWasmStream, WASM_FORMATS, type WasmFormat } from './decoders/wasm.js';
import { openWavStream } from './decoders/wav-stream.js';
import { concatFloat32 } from './pcm.js';
import type { DecodedAudio } from './wav-read.js';

export type { AudioStream } from './decoders/types.js';
export type { AudioFormat } from './decoders/detect.js';
export { detectAudioFormat } from './decoders/detect.js';
export { findFfmpeg } from './decoders/ffmpeg.js';

/** Audio to decode: a file (an upload stored on disk keeps its client-side name as `filename`), bytes in memory, or a byte stream (stdin). */
export type AudioInput =
  | { path: string; filename?: string }
  | { bytes: Uint8Array; filename?: string }
  | { stream: AsyncIterable<Uint8Array>; filename?: string };

export interface OpenAudioOptions {
  /** Seconds of audio per chunk that `chunks()` yields (default 1). */
  chunkSeconds?: number;
  /**
   * The ffmpeg executable for formats the built-in decoders cannot read
   * (m4a/aac, webm, aiff, …). Undefined: look for `ffmpeg` on the PATH;
   * null: act as if there is none.
   */
  ffmpegPath?: string | null;
}

const DEFAULT_CHUNK_SECONDS = 1;

/** How messages name the audio: its filename when given (even for a file, which may be an upload's temporary copy), else the file's name. */
const labelOf = (input: AudioInput): string => {
  const name = input.filename ?? ('path' in input ? input.path : undefined);
  return name ? `'${basename(name)}'` : 'the audio';
};

const openReader = async (input: AudioInput): Promise<{ reader: ByteReader; totalBytes?: number }> => {
  if ('bytes' in input) return { reader: new ByteReader(memoryBytes(input.bytes)), totalBytes: input.bytes.length };
  if ('stream' in input) return { reader: new ByteReader(input.stream) };
  try {
    const info = await stat(input.path);
    if (info.isDirectory()) throw new AppError('invalid_request', `'${input.path}' is a directory, not an audio file.`, { param: 'file' });
    return { reader: new ByteReader(fileBytes(input.path)), totalBytes: info.size };
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new AppError('invalid_request', `Cannot read '${input.path}': ${reason}.`, { param: 'file', cause: error });
  }
};

/** Bytes no decoder here knows; `ffmpegSaid`, what ffmpeg said when it was tried too. */
const notAudio = (label: string, ffmpegSaid?: string): AppError =>
  new AppError('invalid_request', `${label[0].toUpperCase()}${label.slice(1)} is not an audio file murmur recognizes${ffmpegSaid ? `, and ffmpeg could not read it either (${ffmpegSaid})` : ''}.`, {
    hint: ffmpegSaid ? 'Send wav, mp3, flac, ogg, m4a, webm or another format ffmpeg plays.' : 'Send wav, mp3, flac or ogg (opus/vorbis); with ffmpeg installed, m4a, webm and most other formats work too.',
    param: 'file',
  });

const needsFfmpeg = (format: AudioFormat, label: string): AppError =>
  format === 'unknown'
    ? notAudio(label)
    : new AppError('not_supported', `Decoding ${formatName(format)} audio (${label}) needs ffmpeg, which is not installed.`, {
        hint: 'Install ffmpeg (`apt-get install ffmpeg`, `brew install ffmpeg` or `winget install ffmpeg`) to decode m4a/aac, webm and the like, or convert the file to wav, mp3, flac or ogg.',
        param: 'file',
      });

/**
 * Opens any supported audio for decoding as a stream of mono float chunks at
 * the source's sample rate. The format comes from the first bytes, never the
 * name: WAV is read natively (from a file through one handle, a piece at a
 * time); mp3, flac and ogg (opus, vorbis, flac) through the WASM decoders,
 * also piece by piece; everything else (m4a/aac, webm, …) through ffmpeg when
 * it is on the PATH. Memory stays bounded however long the file is.
 * Throws AppError('invalid_request') for input that is empty, not audio or
 * broken, and AppError('not_supported') naming what to install when nothing
 * here can decode the format. Close the stream when stopping early.
 */
export const openAudioStream = async (input: AudioInput, options: OpenAudioOptions = {}): Promise<AudioStream> => {
  const chunkSeconds = options.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  if (!(chunkSeconds > 0)) throw new AppError('internal', `chunkSeconds must be positive, not ${chunkSeconds}.`);
  const label = labelOf(input);
  const { reader, totalBytes } = await openReader(input);
  let format: AudioFormat;
  try {
    const head = await reader.fill(SNIFF_BYTES);
    if (head.length === 0) throw new AppError('invalid_request', `${label === 'the audio' ? 'The audio' : label} is empty (0 bytes).`, { param: 'file' });
    format = detectAudioFormat(head);
  } catch (error) {
    await reader.close();
    throw error;
  }
  if (format === 'wav') return openWavStream(reader, { totalBytes, chunkSeconds });
  if (WASM_FORMATS.includes(format)) return checked(await openWasmStream(format as WasmFormat, reader, chunkSeconds));

  const ffmpeg = options.ffmpegPath === null ? undefined : (options.ffmpegPath ?? findFfmpeg());
  if (!ffmpeg) {
    await reader.close();
    throw needsFfmpeg(format, label);
  }
  let source: FfmpegSource = { reader };
  if ('path' in input) source = { path: input.path };
  if ('bytes' in input) source = { bytes: input.bytes };
  if (!('reader' in source)) await reader.close();
  try {
    return checked(await openFfmpegStream(ffmpeg, source, chunkSeconds, label));
  } catch (error) {
    // Bytes nothing here recognized, and ffmpeg could not open either: not audio, said as it is without ffmpeg (a text file is not an ffmpeg problem).
    if (format === 'unknown' && error instanceof FfmpegFailedError && error.atOpen) throw notAudio(label, error.detail);
    throw error;
  }
};

/** A decoder's stream, refused (and closed) when its rate or channels are outside what murmur takes. */
const checked = async (stream: AudioStream): Promise<AudioStream> => {
  try {
    checkAudioShape(stream.sampleRate, stream.channels, 'decoded audio');
  } catch (error) {
    await stream.close();
    throw error;
  }
  return stream;
};

/**
 * Decodes a whole input to mono float samples in memory (for short audio;
 * long audio is better consumed through openAudioStream).
 */
export const decodeAudio = async (input: AudioInput, options: OpenAudioOptions = {}): Promise<DecodedAudio> => {
  const stream = await openAudioStream(input, { ...options, chunkSeconds: options.chunkSeconds ?? 10 });
  const pieces: Float32Array[] = [];
  try {
    for await (const chunk of stream.chunks()) pieces.push(chunk);
  } finally {
    await stream.close();
  }
  const samples = concatFloat32(pieces);
  return { samples, sampleRate: stream.sampleRate, channels: stream.channels, duration: samples.length / stream.sampleRate };
};
