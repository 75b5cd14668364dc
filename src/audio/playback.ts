/**
 * Speaker output. The one part of src/audio with side effects.
 *
 * Loading speaker's native binding on a machine with no sound device makes
 * ALSA abort the whole process (an assertion JavaScript cannot catch), so
 * it is never loaded here: a child process (playback-child.js) plays PCM
 * piped to its stdin, and is only started once `hasOutputDevice` says there
 * is something to play on. If the child dies anyway, the caller gets an
 * AppError, never a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';
import { floatToS16le } from './pcm.js';

const NO_DEVICE_HINT = 'Write to a file with `-o out.wav`, or to stdout with `-o -` (e.g. `murmur speak "hi" -o - | aplay`).';

const noDevice = (detail?: string): AppError =>
  new AppError('not_supported', `No audio output device is available${detail ? ` (${detail})` : ''}.`, { hint: NO_DEVICE_HINT });

const readText = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** True when an ALSA config file sets a default PCM (which may be a file, pulse, a card …). */
const definesDefaultPcm = (path: string): boolean => /\bpcm\.!?default\b|\bdefaults\.pcm\./.test(readText(path));

/**
 * Whether sound can be played. Linux: a card listed in /proc/asound/cards,
 * or an ALSA config defining a default PCM ($ALSA_CONFIG_PATH, ~/.asoundrc,
 * /etc/asound.conf), or ALSA's PulseAudio/PipeWire plugin with a running
 * server. macOS and Windows always have an output device. `env` supplies
 * HOME and ALSA_CONFIG_PATH (default: this process's environment).
 */
export const hasOutputDevice = (env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean => {
  if (platform !== 'linux') return true;
  const cards = readText('/proc/asound/cards');
  if (cards.trim() && !/no soundcards/i.test(cards)) return true;
  const home = env.HOME ?? homedir();
  const configs = [...(env.ALSA_CONFIG_PATH ?? '').split(':').filter(Boolean), join(home, '.asoundrc'), '/etc/asound.conf'];
  if (configs.some(definesDefaultPcm)) return true;
  // ALSA routed to a sound server: its plugin config plus the server's socket.
  const confD = '/usr/share/alsa/alsa.conf.d';
  const plugin = existsSync(confD) && readdirSync(confD).some((f) => /pulse|pipewire/.test(f));
  const runtime = env.XDG_RUNTIME_DIR;
  const server = Boolean(env.PULSE_SERVER) || (runtime !== undefined && (existsSync(join(runtime, 'pulse', 'native')) || existsSync(join(runtime, 'pipewire-0'))));
  return plugin && server;
};

/**
 * Where the compiled child lives: beside this file when running from dist/,
 * and in dist/ when this module runs from source (vitest), which the build
 * (`pretest`) produces first.
 */
export const playbackChildPath = (): string => {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'playback-child.js');
  return resolve(dirname(here), '..', '..', 'dist', 'src', 'audio', 'playback-child.js');
};

export interface PlaybackOptions {
  /** Rate of the samples that will be written, in Hz; the device is opened at this rate. */
  sampleRate: number;
  /** Environment for device detection and the child (HOME, ALSA_CONFIG_PATH …); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The compiled playback-child.js to run; default `playbackChildPath()`. */
  childPath?: string;
}

export interface Playback {
  /** Queues samples (floats in [-1, 1]); resolves when the pipe can take more (backpressure). */
  write(samples: Float32Array): Promise<void>;
  /** Resolves when everything written has been played. */
  end(): Promise<void>;
  /** Stops at once, dropping what has not been played. */
  abort(): void;
}

const exitError = (code: number | null, signal: NodeJS.Signals | null, stderr: string): AppError => {
  if (code === 3) {
    return new AppError('not_supported', 'Playing audio needs the optional `speaker` package, which is not installed.', {
      hint: `Install ALSA headers and rebuild it (\`sudo apt-get install libasound2-dev\` then \`npm rebuild speaker\`), or ${NO_DEVICE_HINT.charAt(0).toLowerCase()}${NO_DEVICE_HINT.slice(1)}`,
    });
  }
  const last = stderr.trim().split('\n').pop();
  return noDevice(signal ? `the audio backend stopped with ${signal}` : last || `the player exited with code ${code}`);
};

/**
 * Opens the default output device at `sampleRate` (mono, 16-bit) in a
 * child process. Throws AppError('not_supported') when there is no device
 * or speaker is missing; a device failing later rejects write()/end().
 */
export const openPlayback = async ({ sampleRate, env = process.env, childPath }: PlaybackOptions): Promise<Playback> => {
  if (!hasOutputDevice(env)) throw noDevice();
  const child: ChildProcess = spawn(process.execPath, [childPath ?? playbackChildPath(), String(sampleRate)], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<AppError | undefined>((resolveExit) => {
    child.on('error', (error) => resolveExit(noDevice(error.message)));
    child.on('exit', (code, signal) => resolveExit(code === 0 ? undefined : exitError(code, signal, stderr)));
  });
  // Wait for the child to say speaker loaded (or to die trying).
  const ready = new Promise<void>((resolveReady) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolveReady());
  });
  const startError = await Promise.race([ready.then(() => undefined), exited.then((e) => e ?? noDevice('the player exited early'))]);
  if (startError) throw startError;
  child.stdin!.on('error', () => {}); // EPIPE after the child died: reported through `exited`
  let aborted = false;

  const failure = async (): Promise<never> => {
    throw (await exited) ?? noDevice('the player exited early');
  };

  return {
    async write(samples) {
      if (aborted) throw new AppError('aborted', 'Playback was aborted.');
      if (child.exitCode !== null || child.signalCode !== null) return failure();
      if (!child.stdin!.write(floatToS16le(samples))) {
        const drained = new Promise<void>((r) => child.stdin!.once('drain', r));
        const result = await Promise.race([drained.then(() => 'ok' as const), exited.then(() => 'exit' as const)]);
        if (result === 'exit') return failure();
      }
    },
    async end() {
      if (aborted) return;
      child.stdin!.end();
      const error = await exited;
      if (error) throw error;
    },
    abort() {
      aborted = true;
      child.stdin!.destroy();
      child.kill('SIGTERM');
    },
  };
};
