import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteRuntime } from '../../src/client/remote-runtime.js';
import { loadConfig } from '../../src/config.js';
import type { ConversationEvent } from '../../src/runtime/conversation.js';
import type { ListenEvent } from '../../src/runtime/listen-session.js';
import { readTestWav, SILERO, spokenTurn, YESNO } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * RemoteRuntime's listening sessions and conversations go through a
 * daemon's realtime door (plain ws:// here) and give the same events a
 * LocalRuntime's do, so `murmur talk` reads them alike wherever the
 * engines run.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);
const RATE = 16_000;

let home: string;
let daemon: Daemon;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: 'k', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '' });

const speech = () => spokenTurn(testModel(CLIP)!, RATE);

describe.skipIf(skip)(`RemoteRuntime over the realtime door${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-realtime-remote-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await runCli(env(), 'pull', testModel(SILERO)!, '--name', 'vad');
    daemon = await startDaemon(env());
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const remote = () => createRemoteRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_API_KEY: 'k' }), { baseUrl: daemon.url });

  it('a conversation: the spoken turn is heard, transcribed and answered in text and audio', async () => {
    const conversation = await remote().openConversation!({ model: 'tiny', listen: { model: 'yesno', vad: 'vad' }, speak: { model: 'voice' }, maxOutputTokens: 20 });
    const audio = speech();
    for (let i = 0; i < audio.length; i += RATE / 50) conversation.listen!.push(audio.subarray(i, i + RATE / 50), RATE);
    const events: ConversationEvent[] = [];
    for await (const event of conversation) {
      events.push(event);
      if (event.type === 'response_done') break;
    }
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['speech_started', 'speech_stopped', 'committed']);
    expect(events.find((e) => e.type === 'transcript')).toMatchObject({ text: 'YNYYYNYN' });
    expect(types).toContain('text_delta');
    expect(types).toContain('audio');
    const done = events.at(-1) as Extract<ConversationEvent, { type: 'response_done' }>;
    expect(done).toMatchObject({ status: 'incomplete', reason: 'max_output_tokens', spoken: true });
    expect(done.text).toBe(events.filter((e) => e.type === 'text_delta').map((e) => (e as { text: string }).text).join(''));
    expect(done.timings.firstAudioMs).toBeGreaterThanOrEqual(0);
    expect(conversation.history().map((m) => m.role)).toEqual(['user', 'assistant']);
    await conversation.close();
  });

  it('a listening session (?intent=transcription) gives the turns and their transcripts', async () => {
    const listen = await remote().openListen!({ model: 'yesno', vad: 'vad' });
    const audio = speech();
    for (let i = 0; i < audio.length; i += RATE / 50) listen.push(audio.subarray(i, i + RATE / 50), RATE);
    const events: ListenEvent[] = [];
    for await (const event of listen) {
      events.push(event);
      if (event.type === 'transcript') break;
    }
    // A recognizer that does not stream gives its text as one delta when the turn is decoded, then the transcript.
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped', 'committed', 'transcript_delta', 'transcript']);
    expect(events.at(-1)).toMatchObject({ text: 'YNYYYNYN' });
    await listen.close();
  });

  it('murmur talk --host talks through the daemon: a recording in, the reply printed and its audio written', async () => {
    const out = join(home, 'reply.wav');
    const { stdout, stderr } = await runCli(env(), 'talk', 'tiny', '--host', daemon.url, '--asr', 'yesno', '--vad', 'vad', '--tts', 'voice', '--max-tokens', '16', '--input', testModel(CLIP)!, '-o', out);
    expect(stdout).toMatch(/^you: YNYYYNYN$/m);
    expect(stdout).toMatch(/^murmur: \S/m);
    expect(stderr).not.toMatch(/Error|at .*\.js/);
    const wav = readTestWav(out);
    expect(wav.samples.length).toBeGreaterThan(1000);
    // The daemon ran it: its request log has the realtime session.
    expect(daemon.log().some((entry) => entry.path === '/v1/realtime')).toBe(true);
  });

  it('a model the daemon does not have is a clear error', async () => {
    await expect(remote().openConversation!({ model: 'nosuch' })).rejects.toThrow(/nosuch/);
  });
});
