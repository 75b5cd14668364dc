import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wavHeader16 } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Engine isolation against a real `murmur serve` (MURMUR_ISOLATION=process,
 * its default): every model runs in an engine process of its own, and what
 * kills or hangs one — a voice whose tokens.txt is garbage (sherpa-onnx
 * exits 255), one whose empty tokens.txt makes synthesis hang at 0% CPU, a
 * corrupt VAD model (an uncaught Ort::Exception aborts), an engine killed or
 * stopped from outside — fails only that model's requests, while the others
 * keep serving. Broken files are planted straight into the store, as a
 * disk error or a hand edit would leave them (pull refuses them).
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style';
const ASR = 'yesno-tdnn-ctc';
const VAD = 'silero-vad/silero_vad.onnx';
const WAV = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, ASR, VAD, WAV);

let home: string;
let daemon: Daemon;
let client: OpenAI;

const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: '', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_ENGINE_TIMEOUT: '3s', MURMUR_ISOLATION: '' });
const post = (path: string, body: unknown) => fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; code: string; hint?: string } }).error;
const speak = (model: string) => post('/v1/audio/speech', { model, input: 'Hello there.', response_format: 'wav' });
const chat = () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });

interface Loaded {
  name: string;
  pid?: number;
}
const pidOf = async (name: string): Promise<number> => {
  await post('/murmur/v1/load', { model: name });
  const { models } = (await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: Loaded[] };
  const pid = models.find((m) => m.name === name)?.pid;
  if (!pid) throw new Error(`${name} has no engine process: ${JSON.stringify(models)}`);
  return pid;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A chat stream's raw text, read to its end. */
const streamChat = async (maxTokens: number, onFirst?: () => void): Promise<string> => {
  const res = await post('/v1/chat/completions', { model: 'tiny', stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Once upon a time' }] });
  expect(res.status).toBe(200);
  const decoder = new TextDecoder();
  let text = '';
  let first = true;
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true });
    if (first && text.includes('"content"')) {
      first = false;
      onFirst?.();
    }
  }
  return text;
};

/** Transcribes the test WAV, cut by the VAD model `vad` (a name) or not at all. */
const transcribe = (vad: string | false) => {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(testModel(WAV)!)], { type: 'audio/wav' }), 'yesno.wav');
  form.append('model', 'yesno');
  form.append('vad', String(vad));
  return fetch(`${daemon.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
};

describe.skipIf(skip)(`engines in their own processes (real daemon, real engines)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-isolation-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', testModel(VOICE)!, '--name', 'voice');
    await runCli(env(), 'pull', testModel(ASR)!, '--name', 'yesno');
    await runCli(env(), 'pull', testModel(VAD)!, '--name', 'vad');
    for (const name of ['badvoice', 'emptyvoice']) await runCli(env(), 'pull', testModel(VOICE)!, '--name', name);
    await runCli(env(), 'pull', testModel(VAD)!, '--name', 'badvad');
    // Planted after the pull checked them, as new files: the store keeps one copy of identical files (hard links), which a write in place would change for every model sharing it.
    const plant = (path: string, data: string | Buffer) => {
      rmSync(path);
      writeFileSync(path, data);
    };
    plant(join(home, 'models', 'badvoice', 'tokens.txt'), Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256)));
    plant(join(home, 'models', 'emptyvoice', 'tokens.txt'), '');
    plant(join(home, 'models', 'badvad', 'silero_vad.onnx'), Buffer.alloc(4096, 7));
    daemon = await startDaemon(env(), ['--keep-alive', '-1', '--max-loaded', '8', '--gpu', 'off', '--grace', '1s']);
    client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });

  afterAll(async () => {
    if (daemon) await daemon.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('a voice whose tokens.txt is garbage fails its own requests (503 engine_crashed, naming the cause) while chat and another voice keep serving', async () => {
    const chats = Promise.all([chat(), chat(), chat()]);
    const res = await speak('badvoice');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    const error = await errorOf(res);
    expect(error.code).toBe('engine_crashed');
    expect(error.message).toMatch(/while loading 'badvoice' \(exit code 255: .*tokens/);
    expect(error.hint).toMatch(/murmur pull badvoice --force/);
    expect((await speak('voice')).status).toBe(200);
    for (const reply of await chats) expect(reply.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(daemon.process.exitCode).toBeNull();
  });

  it('three crashes in a row mark the model broken (refused, and /v1/models says why) until it is pulled again', async () => {
    expect((await speak('badvoice')).status).toBe(503);
    expect((await speak('badvoice')).status).toBe(503);
    const refused = await speak('badvoice');
    expect(refused.status).toBe(503);
    const error = await errorOf(refused);
    expect(error.code).toBe('model_broken');
    expect(error.message).toMatch(/3 times in a row/);
    const listed = (await client.models.list()).data as unknown as { id: string; broken?: string }[];
    expect(listed.find((m) => m.id === 'badvoice')?.broken).toMatch(/exit code 255/);
    expect(listed.find((m) => m.id === 'voice')?.broken).toBeUndefined();
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/murmur_engine_restarts_total\{model="badvoice"\} 3/);
    expect(metrics).toMatch(/murmur_broken_models 1/);
    const events = daemon.log().filter((entry) => entry.event === 'engine_crashed' && entry.model === 'badvoice');
    expect(events.map((e) => e.broken)).toEqual([false, false, true]);
    // `murmur ps` shows each model's engine process, and says which model is refused.
    const ps = await runCli({ ...env(), MURMUR_HOST: daemon.url }, 'ps');
    expect(ps.stdout).toMatch(/^NAME\s+KIND\s+MEMORY\s+IN-FLIGHT\s+EXPIRES\s+PID/);
    expect(ps.stdout).toMatch(/\bvoice\s+tts\s.*\s\d+\n/);
    expect(ps.stderr).toMatch(/badvoice is broken and refused: .*exit code 255.*murmur pull badvoice --force/);

    // Pulled again (by the CLI, another process): fresh files, another chance.
    await runCli(env(), 'pull', testModel(VOICE)!, '--name', 'badvoice', '--force');
    expect((await speak('badvoice')).status).toBe(200);
    const again = (await client.models.list()).data as unknown as { id: string; broken?: string }[];
    expect(again.find((m) => m.id === 'badvoice')?.broken).toBeUndefined();
  });

  it('an engine killed mid-stream ends that stream with an engine_crashed error event; the next request loads it afresh in a new process', async () => {
    const pid = await pidOf('tiny');
    const others = Promise.all([speak('voice'), speak('voice')]);
    const text = await streamChat(4000, () => process.kill(pid, 'SIGKILL'));
    expect(text).toMatch(/"code":"engine_crashed"/);
    expect(text).toMatch(/killed by SIGKILL/);
    for (const res of await others) expect(res.status).toBe(200);
    expect((await chat()).choices[0]!.message.content!.length).toBeGreaterThan(0);
    const fresh = await pidOf('tiny');
    expect(fresh).not.toBe(pid);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/murmur_engine_restarts_total\{model="tiny"\} 1/);
  });

  it('an engine that stops answering is killed by the heartbeat, and only its request fails', async () => {
    const pid = await pidOf('tiny');
    process.kill(pid, 'SIGSTOP');
    const res = await post('/v1/chat/completions', { model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toMatch(/stopped answering/);
    await expect.poll(() => alive(pid)).toBe(false);
    expect((await speak('voice')).status).toBe(200);
    expect((await chat()).choices[0]!.message.content!.length).toBeGreaterThan(0);
  });

  it('a synthesis that hangs at idle CPU (an empty tokens.txt) is stopped by the per-call watchdog', async () => {
    const res = await speak('emptyvoice');
    expect(res.status).toBe(503);
    const error = await errorOf(res);
    expect(error.code).toBe('engine_crashed');
    expect(error.message).toMatch(/no progress/);
    expect((await speak('voice')).status).toBe(200);
    const { models } = (await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string; inFlight: number }[] };
    expect(models.find((m) => m.name === 'emptyvoice')).toBeUndefined();
    expect(models.every((m) => m.inFlight === 0)).toBe(true);
  });

  it('a corrupt VAD model aborts only its engine: transcription with it fails with 503, without it works', async () => {
    const res = await transcribe('badvad');
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe('engine_crashed');
    const plain = await transcribe(false);
    expect((await transcribe('vad')).status).toBe(200);
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { text: string }).text).toMatch(/^[YN]+$/);
    expect(daemon.process.exitCode).toBeNull();
  });

  it('a long upload decoded with VAD stops decoding when its client leaves, and the daemon answers meanwhile', async () => {
    // An hour of the yes/no clip (58 MB): decoding it all takes the VAD and the recognizer, each in its engine process, well over 10 s here.
    const clip = readFileSync(testModel(WAV)!);
    const pcm = clip.subarray(44);
    const bytes = 3600 * 8000 * 2;
    const long = Buffer.alloc(44 + bytes);
    wavHeader16(bytes, 8000).copy(long);
    for (let at = 0; at < bytes; at += pcm.length) pcm.copy(long, 44 + at, 0, Math.min(pcm.length, bytes - at));
    const form = new FormData();
    form.append('file', new Blob([long], { type: 'audio/wav' }), 'long.wav');
    form.append('model', 'yesno');
    form.append('vad', 'vad');
    form.append('stream', 'true');
    const leave = new AbortController();
    const res = await fetch(`${daemon.url}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: leave.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('transcript.text.delta')) text += new TextDecoder().decode((await reader.read()).value);
    // Decoding is under way in the engines; the daemon's own loop is free.
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    leave.abort();
    const busy = async () => ((await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string; inFlight: number }[] }).models.filter((m) => m.inFlight > 0).map((m) => m.name);
    // Not a speed check: decoding on to the end would keep them busy far longer than this wait.
    await expect.poll(busy, { timeout: 5000 }).toEqual([]);
    expect(daemon.process.exitCode).toBeNull();
  });

  it('on SIGTERM with an engine hung mid-stream, the stream ends with a stopping error event and the daemon exits, its engines gone', async () => {
    const pid = await pidOf('tiny');
    const voicePid = await pidOf('voice');
    let stopped: Promise<number | null> | undefined;
    const text = await streamChat(100_000, () => {
      process.kill(pid, 'SIGSTOP');
      stopped = daemon.stop();
    });
    expect(text).toMatch(/"code":"stopping"/);
    expect(await stopped).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(alive(voicePid)).toBe(false);
  });
});
