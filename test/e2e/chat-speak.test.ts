import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToS16le } from '../../src/audio/pcm.js';
import { hasOutputDevice, playbackChildPath } from '../../src/audio/playback.js';
import { readWav } from '../../src/audio/wav-read.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';
const CHARS = 'tts-synthetic/characters-style/model.onnx';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'bin', 'murmur.js');
const speakerInstalled = existsSync(join(root, 'node_modules', 'speaker', 'build', 'Release', 'binding.node'));
const skip =
  process.platform !== 'linux'
    ? 'ALSA file devices are Linux only'
    : (missingModels(GGUF, CHARS) ?? (existsSync(bin) ? undefined : `${bin} is missing; run \`npm run build\` first`));

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

const canPlay = speakerInstalled && existsSync(playbackChildPath());
/** An environment with no ALSA config of its own and no sound server. */
const bareEnv = (home: string) => ({ ...env(home), XDG_RUNTIME_DIR: join(home, 'run'), PULSE_SERVER: '' });
const deviceAnyway = hasOutputDevice(bareEnv(join(tmpdir(), 'murmur-no-such-home')));
/** A HOME whose ~/.asoundrc sends the default ALSA device to a raw file (see test/integration/playback.test.ts). */
const fileDeviceHome = (): { home: string; out: string } => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-chat-speak-home-'));
  homes.push(home);
  const out = join(home, 'OUT.raw');
  writeFileSync(join(home, '.asoundrc'), `pcm.!default { type file slave.pcm "null" file "${out}" format "raw" }\n`);
  return { home, out };
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

  it.skipIf(!canPlay)('prints the answer and plays exactly what speak synthesizes for it', async () => {
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

  // A machine-wide ALSA config (/etc/asound.conf) defines a device for everyone.
  it.skipIf(deviceAnyway)('with no output device fails before generating, with the same error as speak', async () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-chat-speak-home-'));
    homes.push(home);
    const chat = await murmur(CHAT, bareEnv(home));
    expect(chat.code).toBe(1);
    expect(chat.stdout).toBe('');
    expect(chat.stderr).toMatch(/No audio output device/);
    expect(chat.stderr).toMatch(/\| murmur speak -o speech\.wav/);
    expect(chat.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!canPlay)('with --json prints one JSON object and still speaks the answer', async () => {
    const { home, out } = fileDeviceHome();
    const chat = await murmur([...CHAT, '--json'], env(home));
    expect(chat.code).toBe(0);
    const parsed = JSON.parse(chat.stdout) as { text: string };
    expect(parsed.text.length).toBeGreaterThan(0);
    expect(readFileSync(out).some((b) => b !== 0)).toBe(true);
  });
});
