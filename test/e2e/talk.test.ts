import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToS16le } from '../../src/audio/pcm.js';
import { resample } from '../../src/audio/resample.js';
import { readWav } from '../../src/audio/wav-read.js';
import { encodeWav16, readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { builtBin as bin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';
import { unlessCi } from '../helpers/ci.js';
import { cannotPlay, fileDeviceHome } from '../helpers/playback.js';

/*
 * `murmur talk` through the built CLI on the real tiny models (stories260K,
 * the yes/no recognizer, Silero VAD, a synthetic voice): a recording from
 * a file or stdin is heard, transcribed and answered, the text printed and
 * the replies' audio written; bad input and missing models fail with a
 * message; the microphone is arecord reading an ALSA `file` device fed
 * through a FIFO, so the whole capture path runs without a sound card.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const CLIP2 = 'yesno-tdnn-ctc/test_wavs/0_1_1_1_1_1_1_1.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP, CLIP2);
const noPlay = cannotPlay();
const hasArecord = spawnSync('arecord', ['--version'], { encoding: 'utf8' }).status === 0;
const noMic = unlessCi(process.platform !== 'linux' ? 'ALSA is Linux only' : !hasArecord ? 'arecord is not installed (apt-get install alsa-utils)' : undefined);

let store: string;
let work: string;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  MURMUR_HOME: store,
  MURMUR_HOST: 'http://127.0.0.1:9',
  MURMUR_THREADS: '1',
  MURMUR_DEBUG: '',
  ...extra,
});
const MODELS = ['tiny', '--asr', 'yesno', '--vad', 'vad', '--tts', 'voice', '--max-tokens', '24'];

interface Result {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs the built CLI with `args`, `stdin` (empty by default) and `childEnv`. */
const murmur = (args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: Buffer } = {}) =>
  new Promise<Result>((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env: options.env ?? env(), stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.stdin);
  });

const noStack = (stderr: string) => expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
const audible = (samples: Float32Array) => samples.some((s) => Math.abs(s) > 0.01);
const partials = () => readdirSync(work).filter((f) => f.endsWith('.partial'));

describe.skipIf(skip)(`murmur talk (built CLI, real models)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    store = mkdtempSync(join(tmpdir(), 'murmur-talk-store-'));
    work = mkdtempSync(join(tmpdir(), 'murmur-talk-'));
    const models = [
      [testModel(GGUF)!, 'tiny'],
      [dirname(testModel(YESNO)!), 'yesno'],
      [testModel(SILERO)!, 'vad'],
      [dirname(testModel(VOICE)!), 'voice'],
    ];
    for (const [source, name] of models) {
      const pulled = spawnSync(process.execPath, [bin, 'pull', source!, '--name', name!], { env: env(), encoding: 'utf8' });
      if (pulled.status !== 0) throw new Error(`murmur pull ${name} failed (${pulled.status}): ${pulled.stderr}`);
    }
  }, 120_000);

  afterAll(() => {
    for (const dir of [store, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a recording: the transcript and the reply on stdout, the reply audio in a WAV file', async () => {
    const out = join(work, 'reply.wav');
    const talk = await murmur(['talk', ...MODELS, '--input', testModel(CLIP)!, '-o', out]);
    noStack(talk.stderr);
    expect(talk.code).toBe(0);
    const text = talk.stdout.toString();
    expect(text).toMatch(/^you: YNYYYNYN$/m);
    expect(text).toMatch(/^murmur: \S.*$/m);
    // The reply comes after the turn it answers.
    expect(text.indexOf('murmur: ')).toBeGreaterThan(text.indexOf('you: '));
    const wav = readWav(readFileSync(out));
    expect(wav.sampleRate).toBeGreaterThan(0);
    expect(wav.samples.length).toBeGreaterThan(0);
    expect(audible(wav.samples)).toBe(true);
    expect(partials()).toEqual([]);
  });

  it('reads the recording from stdin with --input - and writes the audio to stdout with -o -, the text to stderr', async () => {
    const talk = await murmur(['talk', ...MODELS, '--input', '-', '-o', '-'], { stdin: readFileSync(testModel(CLIP)!) });
    noStack(talk.stderr);
    expect(talk.code).toBe(0);
    expect(talk.stderr).toMatch(/^you: YNYYYNYN$/m);
    expect(talk.stderr).toMatch(/^murmur: \S.*$/m);
    expect(talk.stdout.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(audible(readWav(talk.stdout).samples)).toBe(true);
  });

  it('answers each turn of a recording in order, none cut off, each turn shown just before its reply', async () => {
    const [a, b] = [readTestWav(testModel(CLIP)!), readTestWav(testModel(CLIP2)!)];
    const gap = a.sampleRate;
    const joined = new Float32Array(a.samples.length + gap + b.samples.length);
    joined.set(a.samples, 0);
    joined.set(b.samples, a.samples.length + gap);
    const input = join(work, 'two-turns.wav');
    writeFileSync(input, encodeWav16(joined, a.sampleRate));
    const talk = await murmur(['talk', ...MODELS, '--input', input, '-o', join(work, 'two.wav')]);
    expect(talk.code).toBe(0);
    const lines = talk.stdout.toString().trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('you: YNYYYNYN');
    expect(lines[1]).toMatch(/^murmur: \S/);
    expect(lines[2]).toBe('you: NYYYYYYY');
    expect(lines[3]).toMatch(/^murmur: \S/);
    expect(talk.stdout.toString()).not.toContain('[interrupted]');
  });

  it.skipIf(noPlay)(`without -o plays the replies on the speakers: exactly the audio -o writes${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const { home, out } = fileDeviceHome('murmur-talk-play-');
    try {
      const played = await murmur(['talk', ...MODELS, '--input', testModel(CLIP)!], { env: env({ HOME: home }) });
      noStack(played.stderr);
      expect(played.code).toBe(0);
      const expected = join(work, 'expected.pcm');
      expect((await murmur(['talk', ...MODELS, '--input', testModel(CLIP)!, '-o', expected])).code).toBe(0);
      const want = readFileSync(expected);
      const got = readFileSync(out);
      expect(want.length).toBeGreaterThan(0);
      expect(got.length).toBeGreaterThanOrEqual(want.length);
      expect(Buffer.compare(got.subarray(0, want.length), want)).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('--json prints one event per line, audio described without its samples', async () => {
    const talk = await murmur(['talk', ...MODELS, '--input', testModel(CLIP)!, '-o', join(work, 'json.wav'), '--json']);
    expect(talk.code).toBe(0);
    const events = talk.stdout.toString().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['speech_started', 'committed', 'transcript', 'response_started', 'text_delta', 'audio', 'response_done']));
    expect(events.find((e) => e.type === 'transcript')).toMatchObject({ text: 'YNYYYNYN' });
    const audio = events.find((e) => e.type === 'audio')!;
    expect(audio).not.toHaveProperty('samples');
    expect(audio).not.toHaveProperty('chunk');
    expect(audio.durationMs).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'response_done', timings: expect.objectContaining({ totalMs: expect.any(Number) }) });
  });

  it('Ctrl-C while a recording is answered stops with 130 and leaves no file', async () => {
    const out = join(work, 'stopped.wav');
    // No --max-tokens: stories260K writes until its context is full, seconds of reply to interrupt.
    const child = spawn(process.execPath, [bin, 'talk', 'tiny', '--asr', 'yesno', '--vad', 'vad', '--tts', 'voice', '--input', testModel(CLIP)!, '-o', out], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(/^murmur: \S/m);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    noStack(stderr);
    expect(stderr).toMatch(/^murmur: interrupted$/m);
    expect(stdout).toMatch(/ \[interrupted\]\n$/);
    expect(readdirSync(work)).not.toContain('stopped.wav');
    expect(partials()).toEqual([]);
  });

  it('a file that is not audio fails with a message, before any model loads, and writes nothing', async () => {
    const bad = join(work, 'notes.wav');
    writeFileSync(bad, 'these are notes, not sound\n');
    const out = join(work, 'never.wav');
    const talk = await murmur(['talk', ...MODELS, '--input', bad, '-o', out]);
    noStack(talk.stderr);
    expect(talk.code).toBe(1);
    expect(talk.stderr).toMatch(/'notes\.wav' is not an audio file/);
    expect(talk.stdout.length).toBe(0);
    expect(readdirSync(work)).not.toContain('never.wav');
    expect(partials()).toEqual([]);
  });

  it('a model that is not installed fails with a message and a hint', async () => {
    const talk = await murmur(['talk', 'no-such-model', '--asr', 'yesno', '--vad', 'vad', '--tts', 'voice', '--input', testModel(CLIP)!, '-o', join(work, 'nomodel.wav')]);
    noStack(talk.stderr);
    expect(talk.code).toBe(1);
    expect(talk.stderr).toMatch(/Unknown model 'no-such-model'/);
    expect(talk.stderr).toMatch(/^ {2}.*murmur list --all/m);
    expect(partials()).toEqual([]);
  });

  it('without arecord on the PATH says to install alsa-utils or use --input', async () => {
    const path = mkdtempSync(join(work, 'path-'));
    symlinkSync(process.execPath, join(path, 'node'));
    const talk = await murmur(['talk', ...MODELS, '-o', join(work, 'nomic.wav')], { env: env({ PATH: path }) });
    noStack(talk.stderr);
    expect(talk.code).toBe(1);
    expect(talk.stderr).toMatch(/`arecord` was not found/);
    expect(talk.stderr).toMatch(/alsa-utils/);
    expect(talk.stderr).toMatch(/--input FILE/);
  });

  describe.skipIf(noMic)(`the microphone through arecord${noMic ? ` (skipped: ${noMic})` : ''}`, () => {
    it('with no capture device says so, with arecord\'s own error and the hint', async () => {
      const config = join(work, 'no-device.conf');
      writeFileSync(config, '# no PCM at all\n');
      const talk = await murmur(['talk', ...MODELS, '-o', join(work, 'nodevice.wav')], { env: env({ ALSA_CONFIG_PATH: config }) });
      noStack(talk.stderr);
      expect(talk.code).toBe(1);
      expect(talk.stderr).toMatch(/Cannot record from the microphone: arecord exited with code 1 \(arecord: .*audio open error/);
      expect(talk.stderr).toMatch(/alsa-utils/);
      expect(talk.stderr).toMatch(/--input FILE/);
    });

    it('hears speech from the capture device, answers it, and leaves on Ctrl-C with the reply audio written', async () => {
      // The capture device: ALSA's file plugin reading raw 16 kHz mono s16le from a FIFO this test writes.
      const fifo = join(work, 'mic.fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const config = join(work, 'mic.conf');
      writeFileSync(config, `pcm.!default { type file slave.pcm "nul" file "/dev/null" infile "${fifo}" format "raw" }\npcm.nul { type null }\n`);
      const wav = readTestWav(testModel(CLIP)!);
      const clip = resample(wav.samples, wav.sampleRate, 16_000);
      const speech = new Float32Array(clip.length + 16_000 * 2);
      speech.set(clip, 4000);

      const out = join(work, 'mic.wav');
      const child = spawn(process.execPath, [bin, 'talk', ...MODELS, '-o', out], { env: env({ ALSA_CONFIG_PATH: config }), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

      // A live microphone never ends: after the speech, silence keeps coming (in real time) until arecord goes away.
      // The file plugin hands arecord a whole period even when its read of the FIFO came up short (the rest
      // is stale), so the audio goes in writes of 4000 bytes, each one atomic: arecord reads 2000 frames at a
      // time (125 ms, alsa-utils 1.2), and every read gets one write whole. Another arecord may read other
      // sizes, so the transcript is checked loosely here; the --input tests check it exactly.
      const mic = await open(fifo, 'w');
      let feeding = true;
      const fed = (async () => {
        const bytes = Buffer.from(floatToS16le(speech));
        const piece = 4000;
        try {
          for (let at = 0; at < bytes.length && feeding; at += piece) await mic.write(Buffer.concat([bytes.subarray(at, at + piece)], piece));
          while (feeding) {
            await mic.write(Buffer.alloc(piece));
            await sleep(125);
          }
          return 'fed';
        } catch (error) {
          return (error as NodeJS.ErrnoException).code;
        }
      })();
      try {
        await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(/^murmur: \S.*\n/m);
        expect(stdout).toMatch(/^you: [YN]+$/m);
        child.kill('SIGINT');
        expect(await exited).toBe(0);
        noStack(stderr);
        // arecord was stopped with murmur: the FIFO has no reader left.
        expect(await Promise.race([fed, sleep(10_000, 'still read after 10 s')])).toBe('EPIPE');
      } finally {
        feeding = false;
        await fed;
        await mic.close();
        child.kill('SIGKILL');
      }
      const written = readWav(readFileSync(out));
      expect(audible(written.samples)).toBe(true);
      expect(partials()).toEqual([]);
    });
  });
});
