/**
 * Choosing and creating audio encoders. Importing this module loads the
 * codec libraries (pure JavaScript / WASM, no native code, ~50 ms), so
 * commands import it lazily.
 */
import { extname } from 'node:path';
import { AppError } from '../errors.js';
import { createFlacEncoder } from './encoders/flac.js';
import { createMp3Encoder, mp3RateFor } from './encoders/mp3.js';
import { createOpusEncoder } from './encoders/opus.js';
import { createPcmEncoder } from './encoders/pcm.js';
import type { AudioEncoder, AudioFormat, EncoderOptions } from './encoders/types.js';
import { createWavEncoder } from './encoders/wav.js';
import { formatFromPath } from './formats.js';
import { concatBytes } from './pcm.js';

export type { AudioEncoder, AudioFormat, EncoderOptions } from './encoders/types.js';
export { AUDIO_FORMATS, contentTypeOf, formatFromPath, isAudioFormat } from './formats.js';

const factories: Record<AudioFormat, (options: EncoderOptions) => AudioEncoder> = {
  wav: createWavEncoder,
  mp3: createMp3Encoder,
  flac: createFlacEncoder,
  opus: createOpusEncoder,
  pcm: createPcmEncoder,
};

/**
 * A streaming mono encoder for `format`, fed float samples at
 * `options.sampleRate`. Unknown formats are an AppError('invalid_request')
 * naming the supported ones.
 */
export const createEncoder = (format: AudioFormat, options: EncoderOptions): AudioEncoder => {
  const factory = Object.hasOwn(factories, format) ? factories[format] : undefined;
  if (!factory) {
    throw new AppError('invalid_request', `Unsupported audio format '${String(format)}'.`, {
      hint: `Use one of: ${Object.keys(factories).join(', ')}.`,
      param: 'response_format',
    });
  }
  return factory(options);
};

/** Encodes a whole buffer at once (a file, a batch item): one push, then end. */
export const encodeAudio = (samples: Float32Array, format: AudioFormat, options: EncoderOptions): Uint8Array => {
  const encoder = createEncoder(format, options);
  return concatBytes([encoder.push(samples), encoder.end()]);
};

/** The format for an output path, or `fallback`; an unknown extension is a usage error. */
export const formatForOutput = (path: string, fallback: AudioFormat = 'wav'): AudioFormat => {
  const ext = extname(path);
  if (!ext) return fallback;
  const format = formatFromPath(path);
  if (!format) {
    throw new AppError('usage', `Cannot tell the audio format of '${path}' from its extension.`, {
      hint: 'Use .wav, .mp3, .flac, .opus/.ogg or .pcm/.raw, or pass --format.',
    });
  }
  return format;
};

/**
 * The rate a format's encoder writes at, for input at `sampleRate` (and an
 * asked-for `outputRate`): what a header or an event can announce before
 * the first audio exists. Ogg Opus always says 48 kHz; mp3 takes the
 * nearest rate it has.
 */
export const encodedRate = (format: AudioFormat, sampleRate: number, outputRate?: number): number => {
  if (format === 'opus') return 48_000;
  if (format === 'mp3') return mp3RateFor(outputRate ?? sampleRate);
  return outputRate ?? sampleRate;
};
