import { floatToS16le } from '../pcm.js';
import { createResampler, type Resampler } from '../resample.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

/**
 * A resampling front for encoders: one streaming resampler for the whole
 * stream (so chunk joins are seamless), which copies samples through
 * unchanged when the rates are equal.
 */
export const createRateStage = (fromRate: number, toRate: number): Resampler => createResampler(fromRate, toRate);

/**
 * Raw s16le mono, no header, at `outputRate` (default: the input's rate,
 * which is what `murmur speak -o x.pcm` writes). The daemon's
 * /v1/audio/speech asks for 24000, OpenAI's pcm rate (OPENAI_PCM_RATE in
 * src/api/openai/speech.ts), unless the request's `sample_rate` says
 * otherwise.
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
