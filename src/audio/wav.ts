import { floatToS16le } from './pcm.js';

/** Bytes in the canonical RIFF/WAVE header murmur writes (PCM, no extra chunks). */
export const WAV_HEADER_BYTES = 44;

/** Size fields of a streamed WAV whose length is not known yet (as OpenAI and most servers send). */
export const WAV_UNKNOWN_SIZE = 0xffffffff;

export interface WavHeaderOptions {
  sampleRate: number;
  /** Interleaved channels; murmur writes mono. Default 1. */
  channels?: number;
  /**
   * Bytes of sample data that follow. Omit for a stream of unknown length:
   * the RIFF and data sizes are then 0xFFFFFFFF, which players and decoders
   * read as "until the end of the stream".
   */
  dataBytes?: number;
}

/**
 * A 44-byte header for 16-bit PCM WAV: RIFF size, `fmt ` chunk (format 1,
 * channels, rate, byte rate, block align, 16 bits) and the `data` chunk size.
 */
export const wavHeader = ({ sampleRate, channels = 1, dataBytes }: WavHeaderOptions): Uint8Array => {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`Invalid sample rate ${sampleRate}`);
  const header = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(header.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) header[offset + i] = text.charCodeAt(i);
  };
  const blockAlign = channels * 2;
  // A RIFF size field is 32 bits: past 4 GiB (or when unknown) it saturates.
  const riffSize = dataBytes === undefined ? WAV_UNKNOWN_SIZE : Math.min(WAV_UNKNOWN_SIZE, 36 + dataBytes);
  const dataSize = dataBytes === undefined ? WAV_UNKNOWN_SIZE : Math.min(WAV_UNKNOWN_SIZE, dataBytes);
  ascii(0, 'RIFF');
  view.setUint32(4, riffSize, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true); // byte rate
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataSize, true);
  return header;
};

/**
 * A complete mono 16-bit WAV file with exact sizes, for writing files.
 * Samples are floats in [-1, 1]; anything beyond is clipped.
 */
export const encodeWav = (samples: Float32Array, sampleRate: number): Uint8Array => {
  const data = floatToS16le(samples);
  const out = new Uint8Array(WAV_HEADER_BYTES + data.length);
  out.set(wavHeader({ sampleRate, dataBytes: data.length }), 0);
  out.set(data, WAV_HEADER_BYTES);
  return out;
};

/**
 * Rewrites the size fields of a WAV header in place once the data length is
 * known (for a file written as a stream, then patched: `fs.write` at offset 0).
 */
export const patchWavSizes = (header: Uint8Array, dataBytes: number): Uint8Array => {
  const view = new DataView(header.buffer, header.byteOffset, WAV_HEADER_BYTES);
  view.setUint32(4, Math.min(WAV_UNKNOWN_SIZE, 36 + dataBytes), true);
  view.setUint32(40, Math.min(WAV_UNKNOWN_SIZE, dataBytes), true);
  return header;
};
