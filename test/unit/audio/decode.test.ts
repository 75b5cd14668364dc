import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio, detectAudioFormat, findFfmpeg, openAudioStream, type AudioInput, type OpenAudioOptions } from '../../../src/audio/decode.js';
import { encodeAudio } from '../../../src/audio/encode.js';
import { readWav } from '../../../src/audio/wav-read.js';
import { AppError } from '../../../src/errors.js';
import { installFakeFfmpeg, makeFakeM4a } from '../../fixtures/audio/fake-ffmpeg.js';
import { makeFlac } from '../../fixtures/audio/make-flac.js';
import { makeWav, quantizationError, tone, toneAmplitude } from '../../fixtures/audio/make-wav.js';
import { unlessCi } from '../../helpers/ci.js';

const dir = mkdtempSync(join(tmpdir(), 'murmur-decode-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const pad = (head: number[] | Uint8Array, length = 64) => {
  const out = new Uint8Array(length);
  out.set(head);
  return out;
};

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

const collect = async (input: AudioInput, options?: OpenAudioOptions) => {
  const stream = await openAudioStream(input, options);
  const chunks: Float32Array[] = [];
  for await (const chunk of stream.chunks()) chunks.push(chunk);
  const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (samples.set(c, at), at + c.length), 0);
  return { stream, chunks, samples };
};

const rejection = async (promise: Promise<unknown>): Promise<AppError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
};

describe('detectAudioFormat reads magic bytes, not names', () => {
  const ogg = (codec: string) => pad([...ascii('OggS'), 0, 2, ...new Array(20).fill(0), 1, 19, ...ascii(codec)]);
  it.each([
    ['wav', pad(ascii('RIFF\0\0\0\0WAVEfmt '))],
    ['mp3', pad([...ascii('ID3'), 4, 0, 0, 0, 0, 0, 10])],
    ['mp3', pad([0xff, 0xfb, 0x90, 0x64])],
    ['aac', pad([0xff, 0xf1, 0x50, 0x80])],
    ['flac', pad(ascii('fLaC\0\0\0\x22'))],
    ['ogg-opus', ogg('OpusHead')],
    ['ogg-vorbis', ogg('\x01vorbis')],
    ['ogg-flac', ogg('\x7fFLAC')],
    ['m4a', pad([0, 0, 0, 0x20, ...ascii('ftypM4A ')])],
    ['webm', pad([0x1a, 0x45, 0xdf, 0xa3, 0x9f])],
    ['unknown', ascii('just some text, not audio at all, long enough to sniff properly.')],
  ])('%s', (format, head) => {
    expect(detectAudioFormat(head)).toBe(format);
  });
});

describe('openAudioStream: WAV, read incrementally', () => {
  const left = tone(440, 2, 22050, 0.6);
  const right = tone(660, 2, 22050, 0.4, 2);
  const wav = makeWav({ sampleRate: 22050, channels: [left, right], variant: { encoding: 'pcm', bits: 24 } });
  const expected = readWav(wav).samples;

  it('from a path: fixed-size mono chunks that add up to the whole file', async () => {
    const path = join(dir, 'stereo.wav');
    writeFileSync(path, wav);
    const { stream, chunks, samples } = await collect({ path }, { chunkSeconds: 0.1 });
    expect(stream).toMatchObject({ sampleRate: 22050, channels: 2, decoder: 'wav' });
    expect(stream.duration).toBeCloseTo(2, 6);
    expect(chunks.slice(0, -1).every((c) => c.length === 2205)).toBe(true);
    expect(samples).toEqual(expected);
    expect(maxDiff(samples, left.map((l, i) => (l + right[i]) / 2))).toBeLessThanOrEqual(quantizationError({ encoding: 'pcm', bits: 24 }));
  });

  it('from a byte stream in pieces that split frames, with a streamed (0xFFFFFFFF) data size', async () => {
    const streamed = makeWav({ sampleRate: 22050, channels: [left, right], variant: { encoding: 'pcm', bits: 24 }, declaredDataSize: 0xffffffff });
    const { stream, samples } = await collect({ stream: pieces(streamed, 7) }, { chunkSeconds: 0.5 });
    expect(stream.duration).toBeUndefined();
    expect(samples).toEqual(expected);
  });

  it('decodeAudio from bytes equals readWav', async () => {
    const audio = await decodeAudio({ bytes: wav, filename: 'x.bin' });
    expect(audio).toMatchObject({ sampleRate: 22050, channels: 2 });
    expect(audio.samples).toEqual(expected);
    expect(audio.duration).toBeCloseTo(2, 6);
  });

  it('stopping early closes cleanly', async () => {
    const path = join(dir, 'early.wav');
    writeFileSync(path, wav);
    const stream = await openAudioStream({ path }, { chunkSeconds: 0.1 });
    let seen = 0;
    for await (const chunk of stream.chunks()) {
      seen += chunk.length;
      if (seen >= 4410) break;
    }
    await stream.close();
    expect(seen).toBe(4410);
  });

  it('a 10-minute WAV streams in bounded memory and yields every sample', async () => {
    const rate = 48000;
    const seconds = 600;
    const variant = { encoding: 'pcm', bits: 24 } as const;
    const frameBytes = 6; // stereo 24-bit
    const path = join(dir, 'long.wav');
    const signalAt = (i: number) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate) * (1 + ((i / rate) % 7) / 10);
    // Write a 173 MB stereo 24-bit file one second at a time (the header first, with the true size).
    const header = makeWav({ sampleRate: rate, channels: [new Float32Array(0), new Float32Array(0)], variant });
    const view = new DataView(header.buffer);
    view.setUint32(40, rate * seconds * frameBytes, true);
    view.setUint32(4, 36 + rate * seconds * frameBytes, true);
    writeFileSync(path, header);
    for (let s = 0; s < seconds; s++) {
      const second = Float32Array.from({ length: rate }, (_, i) => signalAt(s * rate + i));
      writeFileSync(path, makeWav({ sampleRate: rate, channels: [second, second], variant }).subarray(44), { flag: 'a' });
    }
    const fileSize = 44 + rate * seconds * frameBytes;
    const before = process.memoryUsage().rss;
    let peak = before;
    let total = 0;
    let worst = 0;
    const stream = await openAudioStream({ path }, { chunkSeconds: 1 });
    expect(stream.duration).toBeCloseTo(seconds, 6);
    for await (const chunk of stream.chunks()) {
      for (let i = 0; i < chunk.length; i += 97) worst = Math.max(worst, Math.abs(chunk[i] - signalAt(total + i)));
      total += chunk.length;
      if (total % (rate * 10) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(total).toBe(rate * seconds);
    expect(worst).toBeLessThanOrEqual(quantizationError(variant));
    // Garbage collection makes RSS wander by a few tens of MB; holding the file would add 173 MB (or 115 MB of samples).
    expect(peak - before).toBeLessThan(fileSize / 4);
  });
});

describe('openAudioStream: compressed formats through the WASM decoders', () => {
  const rate = 44100;
  const left = tone(440, 1.5, rate, 0.5);
  const right = tone(440, 1.5, rate, 0.5, 0.3);
  const flac = makeFlac([left, right], rate);

  it('FLAC from bytes: lossless, 440 Hz survives, duration from STREAMINFO', async () => {
    const { stream, samples } = await collect({ bytes: flac });
    expect(stream).toMatchObject({ sampleRate: rate, channels: 2, decoder: 'wasm' });
    expect(stream.duration).toBeCloseTo(1.5, 6);
    expect(samples.length).toBe(left.length);
    expect(maxDiff(samples, left.map((l, i) => (l + right[i]) / 2))).toBeLessThanOrEqual(quantizationError({ encoding: 'pcm', bits: 16 }));
    expect(toneAmplitude(samples, rate, 440)).toBeGreaterThan(0.4);
    expect(toneAmplitude(samples, rate, 1000)).toBeLessThan(0.01);
  });

  it('FLAC from a path and from a stream of small pieces decodes the same', async () => {
    const path = join(dir, 'tone.flac');
    writeFileSync(path, flac);
    const whole = await decodeAudio({ bytes: flac });
    expect((await collect({ path }, { chunkSeconds: 0.25 })).samples).toEqual(whole.samples);
    expect((await collect({ stream: pieces(flac, 1000) })).samples).toEqual(whole.samples);
  });

  it('damaged compressed data is an invalid_request, not a crash', async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    garbage.set(flac.subarray(0, 42)); // a real FLAC header, then noise
    const error = await rejection(decodeAudio({ bytes: garbage }));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/FLAC/);
  });
});

describe('openAudioStream: formats that need ffmpeg', () => {
  const m4aHead = pad([0, 0, 0, 0x20, ...ascii('ftypM4A '), ...new Array(40).fill(1)], 256);

  it('with no ffmpeg, m4a and webm say what to install', async () => {
    for (const [bytes, name] of [[m4aHead, /M4A/], [pad([0x1a, 0x45, 0xdf, 0xa3], 256), /WebM/]] as const) {
      const error = await rejection(openAudioStream({ bytes, filename: 'clip.m4a' }, { ffmpegPath: null }));
      expect(error.code).toBe('not_supported');
      expect(error.message).toMatch(name);
      expect(error.message).toMatch(/needs ffmpeg/);
      expect(error.hint).toMatch(/apt-get install ffmpeg/);
    }
  });

  it('with no ffmpeg, a file that is not audio is an invalid_request', async () => {
    const error = await rejection(openAudioStream({ bytes: ascii('{"text": "definitely not audio, just JSON"}'), filename: 'a.wav' }, { ffmpegPath: null }));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/'a.wav' is not an audio file/);
  });

  it('an empty input and a missing file', async () => {
    expect((await rejection(openAudioStream({ bytes: new Uint8Array(0) }))).message).toMatch(/empty/);
    expect((await rejection(openAudioStream({ stream: pieces(new Uint8Array(0), 1) }))).message).toMatch(/empty/);
    expect((await rejection(openAudioStream({ path: join(dir, 'nope.wav') }))).message).toMatch(/no such file/);
  });

  describe('through an ffmpeg stand-in (the process plumbing)', () => {
    const ffmpegPath = installFakeFfmpeg();
    const log = join(dir, 'ffmpeg-args.log');
    process.env.FAKE_FFMPEG_LOG = log;
    const l = tone(440, 1, 16000, 0.5);
    const r = tone(440, 1, 16000, 0.3, 1);
    const fake = makeFakeM4a([l, r], 16000);
    const average = l.map((x, i) => (x + r[i]) / 2);

    it.each(['path', 'bytes', 'stream'] as const)('from %s: ffmpeg output is read as a streamed WAV and mixed down', async (kind) => {
      const path = join(dir, `fake-${kind}.m4a`);
      writeFileSync(path, fake);
      const input: AudioInput = kind === 'path' ? { path } : kind === 'bytes' ? { bytes: fake } : { stream: pieces(fake, 333) };
      const { stream, samples } = await collect(input, { ffmpegPath, chunkSeconds: 0.3 });
      expect(stream).toMatchObject({ sampleRate: 16000, channels: 2, decoder: 'ffmpeg' });
      expect(maxDiff(samples, average)).toBeLessThan(1e-6);
      const args = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!) as string[];
      expect(args).toEqual(expect.arrayContaining(['-f', 'wav', '-c:a', 'pcm_f32le']));
      const source = args[args.indexOf('-i') + 1];
      if (kind === 'bytes') expect(source).toContain('murmur-audio-'); // a temp file ffmpeg can seek in
      else expect(source).toBe(kind === 'path' ? path : 'pipe:0');
    });

    it('ffmpeg failing is an invalid_request carrying its message', async () => {
      const error = await rejection(decodeAudio({ bytes: m4aHead, filename: 'bad.m4a' }, { ffmpegPath }));
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(/ffmpeg could not decode 'bad.m4a' \(exit code 1\): Invalid data found/);
      // ffmpeg named the temporary file it was given: the message names the upload instead.
      expect(error.message).not.toContain('murmur-audio-');
    });

    it('bytes nothing here recognizes, which ffmpeg cannot open either, are "not an audio file", as without ffmpeg', async () => {
      for (const input of [{ bytes: ascii('{"text": "definitely not audio, just JSON"}'), filename: 'notes.txt' }, { stream: pieces(ascii('plain words, no audio at all'), 7), filename: 'notes.txt' }]) {
        const error = await rejection(decodeAudio(input, { ffmpegPath }));
        expect(error.code).toBe('invalid_request');
        expect(error.message).toBe("'notes.txt' is not an audio file murmur recognizes, and ffmpeg could not read it either (Invalid data found when processing input).");
        expect(error.hint).toMatch(/another format ffmpeg plays/);
      }
    });
  });
});

// The speaking side's encoders make real mp3/opus/flac to decode.
describe('round trip through src/audio/encode.ts', () => {
  it.each(['mp3', 'opus', 'flac'] as const)('%s: the duration and a 440 Hz tone survive', async (format) => {
    const rate = 24000;
    const bytes = encodeAudio(tone(440, 2, rate, 0.5), format, { sampleRate: rate });
    const audio = await decodeAudio({ bytes }, { ffmpegPath: null });
    expect(Math.abs(audio.duration - 2)).toBeLessThan(0.1);
    expect(toneAmplitude(audio.samples, audio.sampleRate, 440)).toBeGreaterThan(0.3);
    expect(toneAmplitude(audio.samples, audio.sampleRate, 1000)).toBeLessThan(0.05);
  });
});

const FFMPEG = findFfmpeg();
const noFfmpeg = unlessCi(FFMPEG ? undefined : 'ffmpeg is not on the PATH (apt-get install ffmpeg)');

describe.skipIf(noFfmpeg)(`real ffmpeg${noFfmpeg ? ` (skipped: ${noFfmpeg})` : ''}`, () => {
  it.each([
    ['m4a', ['-c:a', 'aac']],
    ['webm', ['-c:a', 'libopus']],
  ])('%s: the duration and a 440 Hz tone survive', async (ext, codec) => {
    const wav = join(dir, `source-${ext}.wav`);
    const out = join(dir, `tone.${ext}`);
    writeFileSync(wav, makeWav({ sampleRate: 48000, channels: [tone(440, 2, 48000, 0.5)], variant: { encoding: 'pcm', bits: 16 } }));
    const run = spawnSync(FFMPEG!, ['-hide_banner', '-loglevel', 'error', '-y', '-i', wav, ...codec, out]);
    expect(run.status, run.stderr.toString()).toBe(0);
    for (const input of [{ path: out }, { bytes: new Uint8Array(readFileSync(out)) }]) {
      const audio = await decodeAudio(input);
      expect(Math.abs(audio.duration - 2)).toBeLessThan(0.1);
      expect(toneAmplitude(audio.samples, audio.sampleRate, 440)).toBeGreaterThan(0.3);
    }
  });

  it('a text file: not an audio file, in ffmpeg\'s words, with no temporary path', async () => {
    const error = await rejection(decodeAudio({ bytes: ascii('plain words, no audio at all\n'.repeat(20)), filename: 'notes.txt' }));
    expect(error.message).toMatch(/^'notes\.txt' is not an audio file murmur recognizes, and ffmpeg could not read it either \(.*Invalid data/);
    expect(error.message).not.toMatch(/murmur-audio-|\/tmp\//);
  });
});
