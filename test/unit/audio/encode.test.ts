import { describe, expect, it } from 'vitest';
import { AUDIO_FORMATS, contentTypeOf, createEncoder, encodeAudio, formatForOutput, formatFromPath, type AudioFormat } from '../../../src/audio/encode.js';
import { concatBytes, floatToInt16, int16ToFloat } from '../../../src/audio/pcm.js';
import { correlation, decodeBack, dominantFrequency, levelAt, sine } from './signal.js';

/** How far a decoded length may stray from the input, in output samples (codec delay/padding). */
const slack = (format: AudioFormat, rate: number): number =>
  format === 'mp3' ? 1152 * 2 + 576 : format === 'opus' ? Math.ceil(rate / 50) : 0;

const encodeInChunks = (format: AudioFormat, samples: Float32Array, rate: number, pieces: number): Uint8Array => {
  const encoder = createEncoder(format, { sampleRate: rate });
  const parts: Uint8Array[] = [];
  const size = Math.ceil(samples.length / pieces);
  for (let i = 0; i < samples.length; i += size) parts.push(encoder.push(samples.subarray(i, i + size)));
  parts.push(encoder.end());
  return concatBytes(parts);
};

describe('formats', () => {
  it('maps extensions and content types', () => {
    expect(formatFromPath('out.WAV')).toBe('wav');
    expect(formatFromPath('a/b.mp3')).toBe('mp3');
    expect(formatFromPath('x.ogg')).toBe('opus');
    expect(formatFromPath('x.opus')).toBe('opus');
    expect(formatFromPath('x.raw')).toBe('pcm');
    expect(formatFromPath('x.pcm')).toBe('pcm');
    expect(formatFromPath('x.flac')).toBe('flac');
    expect(formatFromPath('x.txt')).toBeUndefined();
    expect(formatFromPath('x.constructor')).toBeUndefined();
    expect(formatFromPath('noext')).toBeUndefined();
    expect(AUDIO_FORMATS.map(contentTypeOf)).toEqual(['audio/mpeg', 'audio/ogg', 'audio/flac', 'audio/wav', 'audio/pcm']);
    expect(formatForOutput('speech')).toBe('wav');
    expect(() => formatForOutput('speech.txt')).toThrow(/Cannot tell the audio format/);
  });

  it('rejects an unknown format with an AppError naming the supported ones', () => {
    expect(() => createEncoder('aac' as AudioFormat, { sampleRate: 16000 })).toThrow(expect.objectContaining({ code: 'invalid_request', hint: expect.stringContaining('mp3') }));
  });
});

describe.each(AUDIO_FORMATS.map((f) => [f]))('%s decodes back', (format) => {
  for (const rate of [16000, 22050]) {
    it(`keeps duration, rate and a 440 Hz tone at ${rate} Hz`, async () => {
      const input = sine(440, rate, 1);
      const encoder = createEncoder(format, { sampleRate: rate });
      expect(encoder.format).toBe(format);
      expect(encoder.contentType).toBe(contentTypeOf(format));
      const bytes = concatBytes([encoder.push(input), encoder.end()]);
      const { samples, sampleRate } = await decodeBack(format, bytes, encoder.sampleRate);
      expect(sampleRate).toBe(encoder.sampleRate);
      const expected = Math.ceil((input.length * sampleRate) / rate);
      expect(Math.abs(samples.length - expected)).toBeLessThanOrEqual(slack(format, sampleRate));
      expect(dominantFrequency(samples, sampleRate)).toBe(440);
      // The tone keeps its level (amplitude 0.5 → DFT level 0.25) within codec loss.
      const mid = samples.subarray(sampleRate / 4, (sampleRate * 3) / 4);
      expect(levelAt(mid, sampleRate, 440)).toBeGreaterThan(0.2);
      expect(levelAt(mid, sampleRate, 440)).toBeLessThan(0.3);
      if (format === 'wav' || format === 'pcm' || format === 'flac') {
        // Lossless: exactly the 16-bit samples that went in.
        expect(Array.from(floatToInt16(samples))).toEqual(Array.from(floatToInt16(int16ToFloat(floatToInt16(input)))));
      }
    });
  }

  it('streams: 10 pushes decode to the same length and signal as one', async () => {
    const rate = 22050;
    const input = sine(440, rate, 1);
    const whole = await decodeBack(format, encodeAudio(input, format, { sampleRate: rate }), createEncoder(format, { sampleRate: rate }).sampleRate);
    const streamed = await decodeBack(format, encodeInChunks(format, input, rate, 10), whole.sampleRate);
    expect(streamed.sampleRate).toBe(whole.sampleRate);
    expect(streamed.samples.length).toBe(whole.samples.length);
    expect(correlation(streamed.samples, whole.samples)).toBeGreaterThan(0.99);
  });

  it('sends bytes before the end when audio keeps coming', () => {
    const rate = 16000;
    const encoder = createEncoder(format, { sampleRate: rate });
    let early = 0;
    for (let i = 0; i < 10; i++) early += encoder.push(sine(440, rate, 0.2)).length;
    expect(early).toBeGreaterThan(0);
    encoder.end();
  });

  it('encodes an empty stream to something decodable', async () => {
    const encoder = createEncoder(format, { sampleRate: 16000 });
    const bytes = encoder.end();
    if (format === 'pcm') expect(bytes.length).toBe(0);
    else expect(bytes.length).toBeGreaterThan(0);
    if (format !== 'mp3') {
      const { samples } = await decodeBack(format, bytes, encoder.sampleRate);
      expect(samples.length).toBeLessThanOrEqual(slack(format, encoder.sampleRate));
    }
  });
});

describe('rates', () => {
  it('pcm resamples to outputRate (OpenAI pcm is 24 kHz)', async () => {
    const encoder = createEncoder('pcm', { sampleRate: 22050, outputRate: 24000 });
    expect(encoder.sampleRate).toBe(24000);
    const bytes = concatBytes([encoder.push(sine(440, 22050, 1)), encoder.end()]);
    const { samples } = await decodeBack('pcm', bytes, 24000);
    expect(samples.length).toBe(24000);
    expect(dominantFrequency(samples, 24000)).toBe(440);
  });

  it('opus runs libopus at a native rate or 48 kHz and always decodes at 48 kHz', () => {
    expect(createEncoder('opus', { sampleRate: 16000 }).sampleRate).toBe(48000);
    expect(createEncoder('mp3', { sampleRate: 22050 }).sampleRate).toBe(22050);
    expect(createEncoder('mp3', { sampleRate: 20000 }).sampleRate).toBe(22050);
  });
});
