// @breezystack/lamejs: the maintained fork of lamejs (pure JavaScript LAME),
// so installing never needs a compiler and it runs anywhere Node 20 does.
import { Mp3Encoder } from '@breezystack/lamejs';
import { floatToInt16 } from '../pcm.js';
import { createRateStage } from './pcm.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

/** Sample rates MPEG-1/2/2.5 layer III can carry. */
export const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

/** The lowest MP3 rate at or above `rate` (no information lost), or 48000. */
export const mp3RateFor = (rate: number): number => MP3_RATES.find((r) => r >= rate) ?? 48000;

const asBytes = (data: Uint8Array | Int8Array): Uint8Array =>
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();

/**
 * MP3 (mono, constant bitrate, default 64 kb/s, plenty for speech). Frames
 * come out as soon as LAME completes them (1152 samples each, after its
 * look-ahead). Decoders add LAME's delay and padding, so decoded audio is
 * up to about two frames longer than the input.
 */
export const createMp3Encoder = ({ sampleRate, outputRate, bitrate = 64_000 }: EncoderOptions): AudioEncoder => {
  const rate = mp3RateFor(outputRate ?? sampleRate);
  const stage = createRateStage(sampleRate, rate);
  let lame: Mp3Encoder | undefined = new Mp3Encoder(1, rate, Math.round(bitrate / 1000));
  const encode = (samples: Float32Array): Uint8Array =>
    lame && samples.length ? asBytes(lame.encodeBuffer(floatToInt16(samples))) : new Uint8Array(0);
  return {
    format: 'mp3',
    contentType: 'audio/mpeg',
    sampleRate: rate,
    push: (samples) => encode(stage.push(samples)),
    end() {
      if (!lame) return new Uint8Array(0);
      const rest = encode(stage.flush());
      const tail = asBytes(lame.flush());
      lame = undefined;
      const out = new Uint8Array(rest.length + tail.length);
      out.set(rest);
      out.set(tail, rest.length);
      return out;
    },
    dispose: () => {
      lame = undefined;
    },
  };
};
