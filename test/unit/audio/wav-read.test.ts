import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWav, parseWavHeader } from '../../../src/audio/wav-read.js';
import { AppError } from '../../../src/errors.js';
import { makeWav, quantizationError, tone, type WavVariant } from '../../fixtures/audio/make-wav.js';
import { missingModels, testModel } from '../../helpers/models.js';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

const appError = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError');
};

const VARIANTS: WavVariant[] = [
  { encoding: 'pcm', bits: 8 },
  { encoding: 'pcm', bits: 16 },
  { encoding: 'pcm', bits: 24 },
  { encoding: 'pcm', bits: 32 },
  { encoding: 'float', bits: 32 },
  { encoding: 'float', bits: 64 },
];

describe('readWav: every common variant decodes to the signal that went in', () => {
  for (const rate of [8000, 44100, 48000]) {
    for (const variant of VARIANTS) {
      it(`${variant.bits}-bit ${variant.encoding} at ${rate} Hz`, () => {
        const signal = tone(440, 0.25, rate, 0.8);
        const audio = readWav(makeWav({ sampleRate: rate, channels: [signal], variant }));
        expect(audio.sampleRate).toBe(rate);
        expect(audio.channels).toBe(1);
        expect(audio.samples.length).toBe(signal.length);
        expect(audio.duration).toBeCloseTo(signal.length / rate, 9);
        expect(maxDiff(audio.samples, signal)).toBeLessThanOrEqual(quantizationError(variant));
      });
    }
  }

  it('WAVE_FORMAT_EXTENSIBLE with PCM, float, and 24 valid bits in a 32-bit container', () => {
    const signal = tone(440, 0.1, 16000, 0.7);
    for (const [variant, validBits] of [
      [{ encoding: 'pcm', bits: 16 }, 16],
      [{ encoding: 'pcm', bits: 24 }, 24],
      [{ encoding: 'float', bits: 32 }, 32],
      [{ encoding: 'pcm', bits: 32 }, 24],
    ] as [WavVariant, number][]) {
      const bytes = makeWav({ sampleRate: 16000, channels: [signal], variant, extensible: true, validBits });
      expect(parseWavHeader(bytes)).toMatchObject({ extensible: true, encoding: variant.encoding, bitsPerSample: variant.bits });
      expect(maxDiff(readWav(bytes).samples, signal)).toBeLessThanOrEqual(quantizationError(variant, validBits));
    }
  });

  it('mixes stereo down to the average of the channels', () => {
    const left = tone(440, 0.2, 44100, 0.6);
    const right = tone(1000, 0.2, 44100, 0.3, 1);
    const audio = readWav(makeWav({ sampleRate: 44100, channels: [left, right], variant: { encoding: 'pcm', bits: 16 } }));
    expect(audio.channels).toBe(2);
    const average = left.map((l, i) => (l + right[i]) / 2);
    expect(maxDiff(audio.samples, average)).toBeLessThanOrEqual(quantizationError({ encoding: 'pcm', bits: 16 }));
  });

  it('mixes 5.1 (extensible, 24-bit) down to the average of all six channels', () => {
    const six = [220, 330, 440, 550, 60, 880].map((f, c) => tone(f, 0.1, 48000, 0.15 * (c + 1), c));
    const audio = readWav(makeWav({ sampleRate: 48000, channels: six, variant: { encoding: 'pcm', bits: 24 }, extensible: true }));
    expect(audio.channels).toBe(6);
    const average = six[0].map((_, i) => six.reduce((s, ch) => s + ch[i], 0) / 6);
    expect(maxDiff(audio.samples, average)).toBeLessThanOrEqual(quantizationError({ encoding: 'pcm', bits: 24 }));
  });

  it('skips extra chunks before and after the data, odd-sized ones included', () => {
    const signal = tone(440, 0.1, 8000, 0.5);
    const text = new TextEncoder().encode('INFOISFTmurmur!'); // 15 bytes: odd, so padded
    const bytes = makeWav({
      sampleRate: 8000,
      channels: [signal],
      variant: { encoding: 'pcm', bits: 16 },
      before: [['JUNK', new Uint8Array(27)]],
      between: [['LIST', text], ['fact', new Uint8Array(4)]],
      after: [['LIST', text]],
    });
    const audio = readWav(bytes);
    expect(audio.samples.length).toBe(signal.length);
    expect(maxDiff(audio.samples, signal)).toBeLessThanOrEqual(quantizationError({ encoding: 'pcm', bits: 16 }));
  });

  it('reads A-law and µ-law samples through their G.711 tables', () => {
    const wav = (tag: number, bytes: number[]) => {
      const out = makeWav({ sampleRate: 8000, channels: [new Float32Array(bytes.length)], variant: { encoding: 'raw', bits: 8, formatTag: tag } });
      out.set(bytes, out.length - bytes.length);
      return readWav(out).samples;
    };
    expect(Array.from(wav(7, [0xff, 0x7f, 0x00, 0x80]))).toEqual([0, 0, -32124 / 32768, 32124 / 32768]);
    expect(Array.from(wav(6, [0xd5, 0x55, 0xaa, 0x2a]))).toEqual([8 / 32768, -8 / 32768, 32256 / 32768, -32256 / 32768]);
  });
});

describe('readWav: streamed and damaged data lengths', () => {
  const signal = tone(440, 0.5, 16000, 0.5);
  const variant: WavVariant = { encoding: 'pcm', bits: 16 };

  it('a data size of 0xFFFFFFFF (a streamed WAV) means "up to the end"', () => {
    const info = parseWavHeader(makeWav({ sampleRate: 16000, channels: [signal], variant, declaredDataSize: 0xffffffff }));
    expect(info).toMatchObject({ streamed: true, truncated: false, frames: signal.length });
  });

  it('a data size larger than the file decodes what is there, whole frames only', () => {
    const stereo = makeWav({ sampleRate: 16000, channels: [signal, signal], variant, declaredDataSize: 10_000_000 });
    const cut = stereo.subarray(0, stereo.length - 3); // mid-frame
    const info = parseWavHeader(cut);
    expect(info.truncated).toBe(true);
    expect(info.frames).toBe(signal.length - 1);
    expect(readWav(cut).samples.length).toBe(signal.length - 1);
  });

  it('stops at the declared size when more chunks follow', () => {
    const bytes = makeWav({ sampleRate: 16000, channels: [signal], variant, after: [['LIST', new Uint8Array(100).fill(0x7f)]] });
    expect(readWav(bytes).samples.length).toBe(signal.length);
  });
});

describe('readWav: bad input says what is wrong', () => {
  const good = makeWav({ sampleRate: 8000, channels: [tone(440, 0.1, 8000)], variant: { encoding: 'pcm', bits: 16 } });

  it('an empty file', () => {
    expect(appError(() => readWav(new Uint8Array(0)))).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/empty/) });
  });

  it('not a WAV at all', () => {
    const error = appError(() => readWav(new TextEncoder().encode('hello, this is a text file and not audio at all')));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/not a WAV/);
  });

  it('a zero-length WAV', () => {
    const error = appError(() => readWav(makeWav({ sampleRate: 8000, channels: [new Float32Array(0)], variant: { encoding: 'pcm', bits: 16 } })));
    expect(error.message).toMatch(/no samples/);
  });

  it('a header cut short', () => {
    for (const length of [6, 20, 40]) {
      expect(appError(() => readWav(good.subarray(0, length))).message).toMatch(/truncated/);
    }
  });

  it('a data chunk that promises samples but has none', () => {
    expect(appError(() => readWav(good.subarray(0, 44))).message).toMatch(/truncated.*none follow/);
  });

  it('an encoding it cannot decode names the format tag and suggests ffmpeg', () => {
    const adpcm = makeWav({ sampleRate: 8000, channels: [new Float32Array(100)], variant: { encoding: 'raw', bits: 4, formatTag: 0x11 } });
    const error = appError(() => readWav(adpcm));
    expect(error.message).toMatch(/0x0011.*ADPCM/);
    expect(error.hint).toMatch(/ffmpeg/);
    const extensible = makeWav({ sampleRate: 8000, channels: [new Float32Array(100)], variant: { encoding: 'raw', bits: 8, formatTag: 0x55 }, extensible: true });
    expect(appError(() => readWav(extensible)).message).toMatch(/0x0055/);
  });

  it('a sample size that does not exist for the encoding', () => {
    const bytes = makeWav({ sampleRate: 8000, channels: [new Float32Array(10)], variant: { encoding: 'pcm', bits: 16 } });
    new DataView(bytes.buffer).setUint16(34, 12, true);
    expect(appError(() => readWav(bytes)).message).toMatch(/12-bit pcm/);
  });
});

describe.skipIf(missingModels('yesno-tdnn-ctc/test_wavs'))('readWav: the real yesno recordings', () => {
  it('parse as 8 kHz 16-bit mono with the duration their size gives', () => {
    const dir = testModel('yesno-tdnn-ctc/test_wavs')!;
    const files = readdirSync(dir).filter((f) => f.endsWith('.wav'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const path = join(dir, file);
      const bytes = new Uint8Array(readFileSync(path));
      const info = parseWavHeader(bytes);
      expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, encoding: 'pcm', truncated: false });
      const audio = readWav(bytes);
      expect(audio.duration).toBeCloseTo((statSync(path).size - info.dataOffset) / 2 / 8000, 3);
      expect(audio.duration).toBeGreaterThan(5);
      const rms = Math.sqrt(audio.samples.reduce((s, x) => s + x * x, 0) / audio.samples.length);
      expect(rms).toBeGreaterThan(0.001); // real speech, not silence
      expect(audio.samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeLessThanOrEqual(1);
    }
  });
});
