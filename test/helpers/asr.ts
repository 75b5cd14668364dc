import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { resample } from '../../src/audio/resample.js';
import { readWav } from '../../src/audio/wav-read.js';
import type { PipelineAudio } from '../../src/runtime/transcribe.js';
import type { InstalledModel } from '../../src/store/types.js';
import { testModel } from './models.js';

/** Shared-model files the listening tests need. */
export const YESNO = 'yesno-tdnn-ctc/model.onnx';
export const SILERO = 'silero-vad/silero_vad.onnx';

export const asrConfig = (): Config => loadConfig({}, { threads: 1, keepAliveMs: -1, home: '/nonexistent-murmur-home' });

/** The yesno TDNN as the store would describe it after `murmur pull <dir>`. */
export const yesnoModel = (): InstalledModel => ({
  name: 'yesno',
  kind: 'asr',
  engine: 'sherpa-onnx',
  family: 'tdnn',
  source: 'test',
  layout: { model: 'model.onnx', tokens: 'tokens.txt' },
  files: [{ path: 'model.onnx', size: 55563 }, { path: 'tokens.txt', size: 22 }],
  size: 55585,
  sampleRate: 8000,
  options: { featureDim: 23 },
  pulledAt: new Date(0).toISOString(),
  dir: dirname(testModel(YESNO)!),
});

export const sileroModel = (): InstalledModel => ({
  name: 'silero-vad',
  kind: 'vad',
  engine: 'sherpa-onnx',
  family: 'silero-vad',
  source: 'test',
  layout: { model: 'silero_vad.onnx' },
  files: [{ path: 'silero_vad.onnx', size: 2327524 }],
  size: 2327524,
  sampleRate: 16000,
  options: { windowSize: 512 },
  pulledAt: new Date(0).toISOString(),
  dir: dirname(testModel(SILERO)!),
});

/** The yesno test wavs with the text their names say (1 → Y, 0 → N). */
export const yesnoWavs = (): { path: string; expected: string }[] => {
  const dir = join(dirname(testModel(YESNO)!), 'test_wavs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => ({ path: join(dir, f), expected: basename(f, '.wav').split('_').map((d) => (d === '1' ? 'Y' : 'N')).join('') }));
};

export const readTestWav = (path: string) => readWav(new Uint8Array(readFileSync(path)));

/** A clip as one spoken turn at `rate`: a quarter second of silence before it and 1.75 s after, so VAD hears it start and end. */
export const spokenTurn = (path: string, rate: number): Float32Array => {
  const wav = readTestWav(path);
  const clip = resample(wav.samples, wav.sampleRate, rate);
  const out = new Float32Array(clip.length + rate * 1.75);
  out.set(clip, rate / 4);
  return out;
};

/** Samples served as a PipelineAudio in chunks (default 0.5 s). */
export const memoryAudio = (samples: Float32Array, sampleRate: number, chunkSeconds = 0.5): PipelineAudio & { closed: boolean } => {
  const audio = {
    sampleRate,
    duration: samples.length / sampleRate,
    closed: false,
    async *chunks() {
      const step = Math.round(chunkSeconds * sampleRate);
      for (let i = 0; i < samples.length; i += step) yield samples.slice(i, i + step);
    },
    close() {
      audio.closed = true;
    },
  };
  return audio;
};

/** Where the sound is in `samples`: the first and last 10 ms frame louder than a tenth of the loudest, in seconds. */
export const speechBounds = (samples: Float32Array, sampleRate: number): { start: number; end: number } => {
  const frame = Math.round(sampleRate / 100);
  const rms: number[] = [];
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let sum = 0;
    for (let j = i; j < i + frame; j++) sum += samples[j]! * samples[j]!;
    rms.push(Math.sqrt(sum / frame));
  }
  const loud = Math.max(...rms) / 10;
  const first = rms.findIndex((r) => r > loud);
  const last = rms.length - 1 - [...rms].reverse().findIndex((r) => r > loud);
  return { start: first / 100, end: (last + 1) / 100 };
};

export interface Placed {
  readonly expected: string;
  /** Where its speech sits in the built file, in seconds. */
  readonly start: number;
  readonly end: number;
}

/** Room-tone "silence": faint, repeatable noise (digital zeros are nothing a recognizer ever heard in training). */
export const roomTone = (length: number, level = 0.002): Float32Array => {
  const out = new Float32Array(length);
  let seed = 12345;
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out[i] = (seed / 2147483648 - 0.5) * 2 * level;
  }
  return out;
};

/** Concatenates the yesno wavs (at their 8 kHz) with `gap` seconds of room tone before, between and after them. */
export const buildYesnoFile = (gap = 2, repeat = 1): { samples: Float32Array; sampleRate: number; placed: Placed[] } => {
  const wavs = yesnoWavs().map((w) => ({ ...w, audio: readTestWav(w.path) }));
  const rate = wavs[0]!.audio.sampleRate;
  const silence = Math.round(gap * rate);
  const pieces = Array.from({ length: repeat }, () => wavs).flat();
  const total = silence + pieces.reduce((n, w) => n + w.audio.samples.length + silence, 0);
  const samples = roomTone(total);
  const placed: Placed[] = [];
  let at = silence;
  for (const w of pieces) {
    samples.set(w.audio.samples, at);
    const bounds = speechBounds(w.audio.samples, rate);
    placed.push({ expected: w.expected, start: at / rate + bounds.start, end: at / rate + bounds.end });
    at += w.audio.samples.length + silence;
  }
  return { samples, sampleRate: rate, placed };
};

/** The 44-byte header of a 16-bit PCM mono WAV holding `dataBytes` of samples. */
export const wavHeader16 = (dataBytes: number, sampleRate: number): Buffer => {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  return header;
};

/** 16-bit PCM mono WAV bytes of `samples`. */
export const encodeWav16 = (samples: Float32Array, sampleRate: number): Buffer => {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  return Buffer.concat([wavHeader16(data.length, sampleRate), data]);
};
