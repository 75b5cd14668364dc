import { floatToS16le } from '../pcm.js';
import { createResampler, type Resampler } from '../resample.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

/**
 * A resampling front for encoders: passes samples through when no rate
 * change is needed, otherwise streams them through one resampler.
 */
export const createRateStage = (fromRate: number, toRate: number): Resampler => createResampler(fromRate, toRate);

/**
 * Raw s16le mono, no header. Note: murmur's pcm is at the model's own rate
 * unless `outputRate` is given; OpenAI's pcm is 24 kHz, so the server passes
 * `outputRate: OPENAI_PCM_RATE` to match it.
 */
export const createPcmEncoder = ({ sampleRate, outputRate }: EncoderOptions): AudioEncoder => {
  const rate = outputRate ?? sampleRate;
  const stage = createRateStage(sampleRate, rate);
  return {
    format: 'pcm',
    contentType: 'audio/pcm',
    sampleRate: rate,
    push: (samples) => floatToS16le(stage.push(samples)),
    end: () => floatToS16le(stage.flush()),
    dispose: () => {},
  };
};
