import { AppError } from '../errors.js';
import { framesToMono } from './mixdown.js';

/** Audio decoded to one channel of float samples in [-1, 1]. */
export interface DecodedAudio {
  /** Mono samples; a multi-channel source is mixed down by averaging its channels. */
  samples: Float32Array;
  sampleRate: number;
  /** Channel count of the source (before the mixdown). */
  channels: number;
  /** Seconds. */
  duration: number;
}

/** How a WAV file's samples are stored, after resolving WAVE_FORMAT_EXTENSIBLE. */
export type WavEncoding = 'pcm' | 'float' | 'alaw' | 'mulaw';

/** What a WAV header says, checked against the bytes that actually follow it. */
export interface WavInfo {
  /** The format tag in effect (the sub-format's for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  encoding: WavEncoding;
  extensible: boolean;
  sampleRate: number;
  channels: number;
  /** Bits of each sample's container (8, 16, 24, 32 or 64). */
  bitsPerSample: number;
  /** Bytes per frame (one sample of every channel). */
  blockAlign: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of whole frames that are present (or, for a stream of unknown length, Infinity). */
  dataBytes: number;
  /** Whole frames present; Infinity while a stream's length is unknown. */
  frames: number;
  /** Seconds of audio present; Infinity while a stream's length is unknown. */
  duration: number;
  /** The data chunk claims more bytes than the file holds. */
  truncated: boolean;
  /** The data chunk's size is a placeholder (0xFFFFFFFF, as written by streaming encoders). */
  streamed: boolean;
}

const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x0160: 'WMA',
  0x00ff: 'AAC',
};

const ENCODINGS: Record<number, WavEncoding> = { 1: 'pcm', 3: 'float', 6: 'alaw', 7: 'mulaw' };
const VALID_BITS: Record<WavEncoding, number[]> = { pcm: [8, 16, 24, 32], float: [32, 64], alaw: [8], mulaw: [8] };

const invalid = (message: string, hint?: string) => new AppError('invalid_request', message, { hint, param: 'file' });

/** Sample rates murmur takes, in Hz: below, no speech fits; above, no recorder writes (and resamplers misbehave). */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384_000;
/** Channels murmur takes (more is not a recording but a corrupt or hostile header). */
export const MAX_CHANNELS = 32;

/** Refuses a sample rate or channel count outside what any recording has; `where` names the source (a WAV header, the decoder). */
export const checkAudioShape = (sampleRate: number, channels: number, where = 'audio'): void => {
  if (!(Number.isInteger(sampleRate) && sampleRate >= MIN_SAMPLE_RATE && sampleRate <= MAX_SAMPLE_RATE)) {
    throw invalid(`The ${where} says the sample rate is ${sampleRate} Hz; murmur takes ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz.`, 'The file may be corrupt; export it again at a common rate such as 16000 or 48000 Hz.');
  }
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= MAX_CHANNELS)) {
    throw invalid(`The ${where} says the audio has ${channels} channels; murmur takes 1 to ${MAX_CHANNELS}.`, 'The file may be corrupt; export it again as mono or stereo.');
  }
};
const truncatedHeader = () =>
  invalid('The WAV file is truncated: its header ends before the audio data starts.', 'The file was probably cut off while copying or recording; export it again.');

const tag4 = (b: Uint8Array, at: number) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

/** The result of looking at a (possibly partial) WAV prefix. */
export type WavScan = { info: WavInfo } | { needBytes: number };

/**
 * Reads a WAV header from `bytes`, which may be only the start of the file:
 * returns the header, or how many bytes it needs to see first. `totalBytes`
 * is the full length when known (a file's size); undefined for a stream.
 * Throws AppError('invalid_request') for what is not a WAV or not supported.
 */
export const scanWavHeader = (bytes: Uint8Array, totalBytes?: number, ended = false): WavScan => {
  const complete = ended || totalBytes === bytes.length;
  const need = (n: number): WavScan => {
    if (complete) throw bytes.length === 0 ? invalid('The file is empty.') : truncatedHeader();
    return { needBytes: n };
  };
  if (bytes.length === 0 && complete) throw invalid('The file is empty.');
  if (bytes.length < 12) {
    const prefix = tag4(bytes, 0).slice(0, bytes.length);
    if (bytes.length && !'RIFF'.startsWith(prefix) && !'RF64'.startsWith(prefix)) throw notWav();
    return need(12);
  }
  const riff = tag4(bytes, 0);
  if ((riff !== 'RIFF' && riff !== 'RF64') || tag4(bytes, 8) !== 'WAVE') throw notWav();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'frames' | 'duration' | 'truncated' | 'streamed'> | undefined;
  let ds64DataSize: number | undefined;
  let offset = 12;
  for (;;) {
    if (bytes.length < offset + 8) return need(offset + 8);
    const id = tag4(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'data') {
      if (!fmt) throw invalid('The WAV file has no format ("fmt ") chunk before its audio data.');
      let declared = size === 0xffffffff && ds64DataSize !== undefined ? ds64DataSize : size;
      const streamed = declared === 0xffffffff;
      const total = totalBytes ?? (complete ? bytes.length : undefined);
      const present = total === undefined ? Infinity : Math.max(0, total - body);
      if (streamed) declared = Infinity;
      const available = Math.min(declared, present);
      const frames = available === Infinity ? Infinity : Math.floor(available / fmt.blockAlign);
      const truncated = !streamed && present < declared;
      if (truncated && frames === 0) {
        throw invalid(`The WAV file is truncated: its header promises ${declared} bytes of audio but none follow.`, 'The file was probably cut off while copying or recording; export it again.');
      }
      return {
        info: {
          ...fmt,
          dataOffset: body,
          dataBytes: frames === Infinity ? Infinity : frames * fmt.blockAlign,
          frames,
          duration: frames / fmt.sampleRate,
          truncated,
          streamed,
        },
      };
    }
    const padded = size + (size & 1);
    if (id === 'fmt ' || id === 'ds64') {
      if (bytes.length < body + size) return need(body + size);
      if (id === 'ds64' && size >= 16) ds64DataSize = Number(view.getBigUint64(body + 8, true));
      if (id === 'fmt ') fmt = readFmt(view, body, size);
    }
    offset = body + padded;
  }
};

const notWav = () =>
  invalid('The file is not a WAV file (no RIFF/WAVE header).', 'Send audio as wav, mp3, flac, ogg/opus, m4a or webm.');

const readFmt = (view: DataView, at: number, size: number) => {
  if (size < 16) throw invalid(`The WAV format chunk is too short (${size} bytes).`);
  let formatTag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  let blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  const extensible = formatTag === 0xfffe;
  if (extensible) {
    if (size < 40) throw invalid('The WAV file says WAVE_FORMAT_EXTENSIBLE but its format chunk is too short to hold the sub-format.');
    formatTag = view.getUint16(at + 24, true);
  }
  const encoding = ENCODINGS[formatTag];
  if (!encoding) {
    const name = FORMAT_NAMES[formatTag] ? ` (${FORMAT_NAMES[formatTag]})` : '';
    throw new AppError('invalid_request', `Unsupported WAV encoding: format tag 0x${formatTag.toString(16).padStart(4, '0')}${name}. murmur reads PCM (8/16/24/32-bit), float (32/64-bit), A-law and µ-law WAVs.`, {
      hint: 'Convert it first, e.g. `ffmpeg -i input.wav -c:a pcm_s16le output.wav`.',
      param: 'file',
    });
  }
  if (!VALID_BITS[encoding].includes(bitsPerSample)) {
    throw invalid(`Unsupported WAV sample size: ${bitsPerSample}-bit ${encoding}.`, 'Convert it first, e.g. `ffmpeg -i input.wav -c:a pcm_s16le output.wav`.');
  }
  if (channels === 0) throw invalid('The WAV header says the audio has 0 channels.');
  if (sampleRate === 0) throw invalid('The WAV header says the sample rate is 0 Hz.');
  checkAudioShape(sampleRate, channels, 'WAV header');
  // Some writers leave blockAlign wrong or zero; the sample layout is what counts.
  const expected = channels * (bitsPerSample / 8);
  if (blockAlign !== expected) blockAlign = expected;
  return { formatTag, encoding, extensible, sampleRate, channels, bitsPerSample, blockAlign };
};

/**
 * Parses the header of a whole WAV file held in memory (every common variant:
 * PCM 8/16/24/32-bit, float 32/64, A-law, µ-law, WAVE_FORMAT_EXTENSIBLE, RF64,
 * extra chunks, odd padding, a placeholder or oversized data length).
 * Throws AppError('invalid_request') when it is not a usable WAV.
 */
export const parseWavHeader = (bytes: Uint8Array): WavInfo => {
  const scan = scanWavHeader(bytes, bytes.length, true);
  if ('needBytes' in scan) throw truncatedHeader();
  return scan.info;
};

/** Throws when a WAV holds no samples at all. */
export const assertHasFrames = (frames: number): void => {
  if (frames === 0) throw invalid('The WAV file has no samples (zero-length audio).', 'Record or export some audio and try again.');
};

/**
 * Decodes a whole WAV file held in memory to mono float samples (channels
 * averaged). A data chunk cut short is decoded up to its last whole frame.
 */
export const readWav = (bytes: Uint8Array): DecodedAudio => {
  const info = parseWavHeader(bytes);
  assertHasFrames(info.frames);
  const samples = framesToMono(bytes.subarray(info.dataOffset, info.dataOffset + info.dataBytes), info);
  return { samples, sampleRate: info.sampleRate, channels: info.channels, duration: info.duration };
};
