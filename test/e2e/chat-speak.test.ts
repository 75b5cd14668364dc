import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToS16le } from '../../src/audio/pcm.js';
import { readWav } from '../../src/audio/wav-read.js';
import { builtBin as bin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';
import { cannotPlay, deviceEverywhere, fileDeviceHome as makeFileDeviceHome } from '../helpers/playback.js';

const GGUF = 'stories260K/stories260K.gguf';
const CHARS = 'tts-synthetic/characters-style/model.onnx';
const skip =
  process.platform !== 'linux'
    ? 'ALSA file devices are Linux only'
    : missingModels(GGUF, CHARS);

let store: string;
let homes: string[] = [];
const env = (home: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  HOME: home,
  MURMUR_HOME: store,
  MURMUR_HOST: 'http://127.0.0.1:9',
  MURMUR_THREADS: '1',
  MURMUR_DEBUG: '',
  ...extra,
});

const noPlay = cannotPlay();
const noBareHome = deviceEverywhere();
/** An environment with no ALSA config of its own and no sound server. */
const bareEnv = (home: string) => ({ ...env(home), XDG_RUNTIME_DIR: join(home, 'run'), PULSE_SERVER: '' });
const fileDeviceHome = () => {
  const made = makeFileDeviceHome('murmur-chat-speak-home-');
  homes.push(made.home);
  return made;
};

/** Runs the built CLI with `args`, an empty stdin, and the given environment. */
const murmur = (args: string[], childEnv: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin!.end();
  });

const CHAT = ['chat', 'stories260k', '--local', '--max-tokens', '30', '--temperature', '0', '--speak', 'Once upon a time'];

describe.skipIf(skip)(`murmur chat --speak (built CLI, real models)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    store = mkdtempSync(join(tmpdir(), 'murmur-chat-speak-'));
    const home = mkdtempSync(join(tmpdir(), 'murmur-chat-speak-home-'));
    homes.push(home);
    for (const [source, name] of [[testModel(GGUF)!, 'stories260k'], [dirname(testModel(CHARS)!), 'chars']] as const) {
      const pulled = spawnSync(process.execPath, [bin, 'pull', source, '--name', name], { env: env(home), encoding: 'utf8' });
      if (pulled.status !== 0) throw new Error(`murmur pull ${name} failed (${pulled.status}): ${pulled.stderr}`);
    }
  }, 120_000);

  afterAll(() => {
    for (const dir of [store, ...homes]) if (dir) rmSync(dir, { recursive: true, force: true });
    homes = [];
  });

  it.skipIf(noPlay)(`prints the answer and plays exactly what speak synthesizes for it${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const { home, out } = fileDeviceHome();
    const chat = await murmur(CHAT, env(home));
    expect(chat.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(chat.code).toBe(0);
    const answer = chat.stdout.trim();
    expect(answer.length).toBeGreaterThan(0);

    // The same text through `murmur speak`, to a file: the played audio must match it sample for sample.
    const wav = join(home, 'expected.wav');
    const spoken = await murmur(['speak', '--local', '--model', 'chars', '-o', wav, answer], env(home));
    expect(spoken.code).toBe(0);
    const expected = Buffer.from(floatToS16le(readWav(readFileSync(wav)).samples));
    expect(expected.length).toBeGreaterThan(0);
    // 256 samples (512 bytes) per character the synthetic voice says.
    expect(expected.length % 512).toBe(0);

    const played = readFileSync(out);
    expect(played.length).toBeGreaterThanOrEqual(expected.length);
    expect(Buffer.compare(played.subarray(0, expected.length), expected)).toBe(0);
    // ALSA may pad the last period with silence, nothing else.
    expect(played.subarray(expected.length).every((b) => b === 0)).toBe(true);
  });

  it.skipIf(noBareHome)(`with no output device fails before generating, with the same error as speak${noBareHome ? ` (skipped: ${noBareHome})` : ''}`, async () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-chat-speak-home-'));
    homes.push(home);
    const chat = await murmur(CHAT, bareEnv(home));
    expect(chat.code).toBe(1);
    expect(chat.stdout).toBe('');
    expect(chat.stderr).toMatch(/No audio output device/);
    expect(chat.stderr).toMatch(/\| murmur speak -o speech\.wav/);
    expect(chat.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(noPlay)(`with --json prints one JSON object and still speaks the answer${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const { home, out } = fileDeviceHome();
    const chat = await murmur([...CHAT, '--json'], env(home));
    expect(chat.code).toBe(0);
    const parsed = JSON.parse(chat.stdout) as { text: string };
    expect(parsed.text.length).toBeGreaterThan(0);
    expect(readFileSync(out).some((b) => b !== 0)).toBe(true);
  });
});
