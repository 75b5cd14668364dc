import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { AppError } from '../../src/errors.js';
import { createS16leReader } from '../../src/audio/pcm.js';
import type { AudioStream } from '../../src/audio/decode.js';

/**
 * Where `murmur talk` hears the person: the microphone through ALSA's
 * `arecord` in a child process (no audio addon is ever loaded here, so a
 * machine without a sound card gets a message, not an abort), or a
 * recording decoded by the decoder `murmur transcribe` uses.
 */

/** The rate arecord is asked for, the one the listening session works at. */
export const CAPTURE_RATE = 16_000;
const ARECORD_ARGS = ['-q', '-t', 'raw', '-f', 'S16_LE', '-c', '1', '-r', String(CAPTURE_RATE), '-'];
const HINT = 'arecord comes with ALSA\'s utilities (on Debian or Ubuntu: `apt-get install alsa-utils`); `arecord -l` lists the capture devices. Or talk from a recording with `--input FILE`.';
/** How long start waits for the first audio (or an early failure) before going on. */
const START_WAIT_MS = 1000;

export interface Capture {
  /** Hands the samples (mono, CAPTURE_RATE) to `push` from now on; what was captured before comes first. */
  pipe(push: (samples: Float32Array) => void): void;
  /** Resolves when arecord ends by itself (its stream closed); rejects with an AppError when it fails. Settles never after stop(). */
  readonly ended: Promise<void>;
  /** Stops recording (safe to call twice). */
  stop(): void;
}

const failed = (code: number | null, signal: NodeJS.Signals | null, stderr: string): AppError => {
  const last = stderr.trim().split('\n').filter(Boolean).pop();
  const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
  return new AppError('not_supported', `Cannot record from the microphone: arecord ${how}${last ? ` (${last.trim()})` : ''}.`, { hint: HINT });
};

/**
 * Starts arecord (`command` for tests): resolves once it runs and either
 * sent its first audio or has not failed within a second; rejects with an
 * AppError naming alsa-utils when arecord is missing, and with its last
 * error line when it exits early (no sound card, no capture device).
 */
export const startCapture = async (env: NodeJS.ProcessEnv, command = 'arecord'): Promise<Capture> => {
  // Its own process group: a terminal's Ctrl-C reaches murmur, which stops it, rather than racing it.
  const child: ChildProcess = spawn(command, ARECORD_ARGS, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));

  try {
    await once(child, 'spawn');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not_supported', 'Cannot record from the microphone: `arecord` was not found on the PATH.', { hint: HINT, cause: error });
    throw new AppError('not_supported', `Cannot record from the microphone: arecord would not start (${(error as Error).message}).`, { hint: HINT, cause: error });
  }

  const reader = createS16leReader();
  const held: Float32Array[] = [];
  let push: ((samples: Float32Array) => void) | undefined;
  let first: (() => void) | undefined;
  child.stdout!.on('data', (bytes: Buffer) => {
    first?.();
    const samples = reader.push(bytes);
    if (!samples.length || stopping) return;
    if (push) push(samples);
    else held.push(samples);
  });

  const ended = exited.then(({ code, signal }) => {
    if (stopping) return new Promise<void>(() => undefined);
    if (code === 0) return undefined;
    throw failed(code, signal, stderr);
  });
  ended.catch(() => undefined);

  // Wait for the first audio, an early exit, or a second of neither (a device slow to start).
  let timer: NodeJS.Timeout | undefined;
  const early = await Promise.race([
    new Promise<undefined>((resolve) => (first = () => resolve(undefined))),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), START_WAIT_MS))),
    exited.then(({ code, signal }) => (code === 0 ? undefined : failed(code, signal, stderr))),
  ]);
  first = undefined;
  clearTimeout(timer);
  if (early) throw early;

  return {
    pipe(next) {
      push = next;
      for (const samples of held.splice(0)) next(samples);
    },
    ended,
    stop() {
      if (stopping) return;
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
};

/** 20 ms frames: what a microphone delivers, and what the conversation tests push. */
const FRAMES_PER_SECOND = 50;
/** Silence after a recording, so the voice detector ends its last turn. */
const TRAILING_SILENCE_SECONDS = 1.5;

/**
 * Pushes a decoded recording as fast as it decodes, in 20 ms frames, then
 * 1.5 s of silence so its last turn ends. Stops early when `signal` fires.
 */
export const pushRecording = async (stream: AudioStream, push: (samples: Float32Array, sampleRate: number) => void, signal: AbortSignal): Promise<void> => {
  const rate = stream.sampleRate;
  const frame = Math.max(1, Math.round(rate / FRAMES_PER_SECOND));
  try {
    for await (const chunk of stream.chunks()) {
      if (signal.aborted) return;
      for (let at = 0; at < chunk.length; at += frame) push(chunk.subarray(at, at + frame), rate);
    }
    const silence = new Float32Array(frame);
    for (let i = 0; i < TRAILING_SILENCE_SECONDS * FRAMES_PER_SECOND && !signal.aborted; i++) push(silence, rate);
  } finally {
    await stream.close();
  }
};
