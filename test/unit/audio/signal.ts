import { expect } from 'vitest';
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import type { AudioFormat } from '../../../src/audio/encode.js';
import { s16leToFloat } from '../../../src/audio/pcm.js';

/** `seconds` of a sine at `freq` Hz, amplitude `amp`, sampled at `rate`. */
export const sine = (freq: number, rate: number, seconds: number, amp = 0.5): Float32Array =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));

/** Magnitude of the DFT of `samples` at `freq` Hz, per sample (a sine of amplitude A gives A/2). */
export const levelAt = (samples: Float32Array, rate: number, freq: number): number => {
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    const phase = (2 * Math.PI * freq * i) / rate;
    re += samples[i] * Math.cos(phase);
    im -= samples[i] * Math.sin(phase);
  }
  return Math.hypot(re, im) / samples.length;
};

/** The strongest frequency between 100 and 2000 Hz, in 10 Hz steps, over the middle of `samples`. */
export const dominantFrequency = (samples: Float32Array, rate: number): number => {
  const mid = samples.subarray(Math.floor(samples.length / 4), Math.floor((samples.length * 3) / 4));
  let best = 0;
  let bestLevel = -1;
  for (let f = 100; f <= 2000; f += 10) {
    const level = levelAt(mid, rate, f);
    if (level > bestLevel) [best, bestLevel] = [f, level];
  }
  return best;
};

/** Pearson correlation of two equally long signals. */
export const correlation = (a: Float32Array, b: Float32Array): number => {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i], mb + b[i]];
  [ma, mb] = [ma / n, mb / n];
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

export interface Decoded {
  samples: Float32Array;
  sampleRate: number;
}

/** Decodes murmur's output with independent decoders (mpg123, libFLAC-based, libopus-based); wav/pcm parsed by hand. */
export const decodeBack = async (format: AudioFormat, bytes: Uint8Array, pcmRate?: number): Promise<Decoded> => {
  switch (format) {
    case 'wav': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { samples: s16leToFloat(bytes.subarray(44)), sampleRate: view.getUint32(24, true) };
    }
    case 'pcm':
      return { samples: s16leToFloat(bytes), sampleRate: pcmRate ?? 0 };
    case 'mp3': {
      const decoder = new MPEGDecoder();
      await decoder.ready;
      const out = decoder.decode(bytes);
      decoder.free();
      expect(out.errors).toEqual([]);
      return { samples: out.channelData[0] ?? new Float32Array(0), sampleRate: out.sampleRate };
    }
    case 'flac': {
      const decoder = new FLACDecoder();
      await decoder.ready;
      const out = await decoder.decodeFile(bytes);
      decoder.free();
      expect(out.errors).toEqual([]);
      return { samples: out.channelData[0] ?? new Float32Array(0), sampleRate: out.sampleRate };
    }
    case 'opus': {
      const decoder = new OggOpusDecoder();
      await decoder.ready;
      const out = await decoder.decodeFile(bytes);
      decoder.free();
      expect(out.errors).toEqual([]);
      return { samples: out.channelData[0] ?? new Float32Array(0), sampleRate: out.sampleRate };
    }
  }
};
