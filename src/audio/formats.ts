import { extname } from 'node:path';
import type { AudioFormat } from './encoders/types.js';

export type { AudioFormat } from './encoders/types.js';

/** Every format murmur can write, in OpenAI's order of preference. */
export const AUDIO_FORMATS: readonly AudioFormat[] = ['mp3', 'opus', 'flac', 'wav', 'pcm'];

/** True for a supported `response_format` / `--format` value. */
export const isAudioFormat = (value: unknown): value is AudioFormat =>
  typeof value === 'string' && (AUDIO_FORMATS as readonly string[]).includes(value);

const BY_EXTENSION: Record<string, AudioFormat> = {
  '.wav': 'wav',
  '.wave': 'wav',
  '.mp3': 'mp3',
  '.flac': 'flac',
  '.opus': 'opus',
  '.ogg': 'opus',
  '.oga': 'opus',
  '.pcm': 'pcm',
  '.raw': 'pcm',
};

/** The format a path's extension names (case-insensitive): .ogg/.opus → opus, .raw/.pcm → pcm. */
export const formatFromPath = (path: string): AudioFormat | undefined => {
  const ext = extname(path).toLowerCase();
  return Object.hasOwn(BY_EXTENSION, ext) ? BY_EXTENSION[ext] : undefined;
};

const CONTENT_TYPES: Record<AudioFormat, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg', // Opus in an Ogg container, as OpenAI's opus responses are
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

/** The HTTP Content-Type for a format. */
export const contentTypeOf = (format: AudioFormat): string => CONTENT_TYPES[format];
