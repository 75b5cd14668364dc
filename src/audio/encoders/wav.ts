import { concatBytes, floatToS16le } from '../pcm.js';
import { wavHeader } from '../wav.js';
import { createRateStage } from './pcm.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

/**
 * Streamed 16-bit mono WAV: the header goes out with the first bytes, its
 * RIFF and data sizes set to 0xFFFFFFFF because the length is not known yet
 * (what OpenAI and most servers send; players read to the end of the
 * stream). A caller writing a seekable file can fix the sizes afterwards
 * with `patchWavSizes`, or use `encodeWav` when it has all the samples.
 */
export const createWavEncoder = ({ sampleRate, outputRate }: EncoderOptions): AudioEncoder => {
  const rate = outputRate ?? sampleRate;
  const stage = createRateStage(sampleRate, rate);
  let headerSent = false;
  const withHeader = (data: Uint8Array): Uint8Array => {
    if (headerSent) return data;
    headerSent = true;
    return concatBytes([wavHeader({ sampleRate: rate }), data]);
  };
  return {
    format: 'wav',
    contentType: 'audio/wav',
    sampleRate: rate,
    push: (samples) => withHeader(floatToS16le(stage.push(samples))),
    end: () => withHeader(floatToS16le(stage.flush())),
    dispose: () => {},
  };
};
