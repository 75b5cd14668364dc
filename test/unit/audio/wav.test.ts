import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../../src/audio/encode.js';
import { concatBytes, createS16leReader, floatToInt16, floatToS16le, int16ToFloat, s16leToFloat } from '../../../src/audio/pcm.js';
import { encodeWav, patchWavSizes, WAV_HEADER_BYTES, wavHeader } from '../../../src/audio/wav.js';

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

const expectedHeader = (rate: number, dataBytes: number | undefined): number[] => [
  ...ascii('RIFF'),
  ...u32(dataBytes === undefined ? 0xffffffff : 36 + dataBytes),
  ...ascii('WAVE'),
  ...ascii('fmt '),
  ...u32(16),
  ...u16(1),
  ...u16(1),
  ...u32(rate),
  ...u32(rate * 2),
  ...u16(2),
  ...u16(16),
  ...ascii('data'),
  ...u32(dataBytes ?? 0xffffffff),
];

describe('wav', () => {
  it('writes every header field, byte by byte', () => {
    expect(Array.from(wavHeader({ sampleRate: 22050, dataBytes: 1000 }))).toEqual(expectedHeader(22050, 1000));
    expect(Array.from(wavHeader({ sampleRate: 16000 }))).toEqual(expectedHeader(16000, undefined));
  });

  it('encodeWav has exact sizes and the clipped samples', () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 1, -1, 1.7, -3, Number.NaN]);
    const bytes = encodeWav(samples, 24000);
    expect(bytes.length).toBe(WAV_HEADER_BYTES + samples.length * 2);
    expect(Array.from(bytes.subarray(0, 44))).toEqual(expectedHeader(24000, samples.length * 2));
    const view = new DataView(bytes.buffer, 44);
    const ints = Array.from({ length: samples.length }, (_, i) => view.getInt16(i * 2, true));
    expect(ints).toEqual([0, 16384, -16384, 32767, -32767, 32767, -32767, 0]);
  });

  it('the streaming encoder sends the unknown-size header once, then raw data', () => {
    const encoder = createEncoder('wav', { sampleRate: 16000 });
    const first = encoder.push(Float32Array.from([0.25, -0.25]));
    const second = encoder.push(Float32Array.from([0.5]));
    const last = encoder.end();
    expect(Array.from(first.subarray(0, 44))).toEqual(expectedHeader(16000, undefined));
    expect(first.length).toBe(48);
    expect(second.length).toBe(2);
    expect(last.length).toBe(0);
    expect(Array.from(patchWavSizes(first.slice(0, 44), 6))).toEqual(expectedHeader(16000, 6));
  });

  it('rejects a bad sample rate', () => {
    expect(() => wavHeader({ sampleRate: 0 })).toThrow(RangeError);
    expect(() => wavHeader({ sampleRate: 44100.5 })).toThrow(RangeError);
  });
});

describe('pcm', () => {
  it('converts float ↔ s16le little-endian with clipping', () => {
    const bytes = floatToS16le(Float32Array.from([1, -1, 0.5, 2]));
    expect(Array.from(bytes)).toEqual([0xff, 0x7f, 0x01, 0x80, 0x00, 0x40, 0xff, 0x7f]);
    expect(Array.from(s16leToFloat(bytes))).toEqual([32767 / 32768, -32767 / 32768, 0.5, 32767 / 32768]);
    expect(s16leToFloat(new Uint8Array([1, 2, 3])).length).toBe(1);
  });

  it('round-trips int16 exactly', () => {
    const ints = Int16Array.from([-32767, -1, 0, 1, 12345, 32767]);
    expect(Array.from(floatToInt16(int16ToFloat(ints)))).toEqual(Array.from(ints).map((v) => Math.round((v / 32768) * 32767)));
  });

  it('a reader carries a split sample across chunks', () => {
    const bytes = floatToS16le(Float32Array.from([0.1, -0.2, 0.3]));
    const reader = createS16leReader();
    const parts = [reader.push(bytes.subarray(0, 3)), reader.push(bytes.subarray(3, 5)), reader.push(bytes.subarray(5))];
    expect(parts.map((p) => p.length)).toEqual([1, 1, 1]);
    expect(Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(Array.from(s16leToFloat(bytes)));
    expect(Array.from(concatBytes([bytes.subarray(0, 2), bytes.subarray(2)]))).toEqual(Array.from(bytes));
  });
});
