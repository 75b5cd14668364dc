#!/usr/bin/env node
// bench/voice.mjs: the voice loop's latency, in process. A yes/no recording
// (with silence after it) is streamed in real time, 20 ms frames of 24 kHz
// as a microphone would send them, into Runtime.openConversation on the
// shared models (Silero VAD, the yes/no recognizer, stories260K, a voice).
// Voice-to-voice latency is from the end of the recording's speech (the
// wall time its last frame went in) to the first reply audio, broken into
// the stages: the VAD's silence window (to the commit), transcription,
// the LLM's first token, the first sentence's synthesis; the loop's own
// overhead is the latency less the sum of its stages (goal ≤ 20 ms).
// Barge-in: the time from the speech-started event to the reply's end
// (goal: audio stops within 100 ms).
//
//   npx tsc -p . && node bench/voice.mjs [--runs 5] [--voice DIR] [--door ws] [--isolation process]
//
// --voice: a heavier Piper-style voice (bench/make-heavy-voice.py); the
// shared synthetic voice by default. --door ws: the same turns through the
// daemon's realtime door (GET /v1/realtime on 127.0.0.1, served in this
// process; the client is RemoteRuntime's, over a WebSocket; goal ≤ 30 ms
// overhead), then 8 sessions at once (no errors, RSS bounded).
// MURMUR_TEST_MODELS or ../shared/models.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, voice: { type: 'string' }, isolation: { type: 'string', default: 'none' }, door: { type: 'string', default: 'core' } } });
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const { loadConfig } = await import(join(root, 'dist/src/config.js'));
const { createRuntime } = await import(join(root, 'dist/src/runtime/create-runtime.js'));
const { resample } = await import(join(root, 'dist/src/audio/resample.js'));
const { readWav } = await import(join(root, 'dist/src/audio/wav-read.js'));

const RATE = 24_000;
const FRAME = RATE / 50;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-voice-'));
const runtime = await createRuntime(loadConfig({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1', MURMUR_GPU: 'off' }, { isolation: values.isolation }));
await runtime.pull(join(models, 'stories260K', 'stories260K.gguf'), { name: 'tiny' });
await runtime.pull(values.voice ? resolve(values.voice) : join(models, 'tts-synthetic', 'piper-style'), { name: 'voice' });
await runtime.pull(join(models, 'yesno-tdnn-ctc'), { name: 'yesno' });
await runtime.pull(join(models, 'silero-vad', 'silero_vad.onnx'), { name: 'vad' });

/* The door the turns go through: the core itself, or the realtime WebSocket of a daemon served here. */
let server;
let door = runtime;
if (values.door === 'ws') {
  const { startServer } = await import(join(root, 'dist/src/server/listen.js'));
  const { createRemoteRuntime } = await import(join(root, 'dist/src/client/remote-runtime.js'));
  server = await startServer(runtime, { port: 0, hostname: '127.0.0.1' });
  door = createRemoteRuntime(runtime.config, { baseUrl: server.url });
}

const wav = readWav(new Uint8Array(readFileSync(join(models, 'yesno-tdnn-ctc', 'test_wavs', '1_0_1_1_1_0_1_0.wav'))));
const clip = resample(wav.samples, wav.sampleRate, RATE);
/** Where the clip's speech ends (it has silence after it): the end of its last 10 ms louder than a tenth of its loudest. */
const speechEndSample = (() => {
  const step = RATE / 100;
  const rms = [];
  for (let i = 0; i + step <= clip.length; i += step) {
    let sum = 0;
    for (let j = i; j < i + step; j++) sum += clip[j] * clip[j];
    rms.push(Math.sqrt(sum / step));
  }
  const floor = Math.max(...rms) / 10;
  let last = rms.length - 1;
  while (last > 0 && rms[last] <= floor) last--;
  return (last + 1) * step;
})();

/** Streams `audio` in real time; resolves with the wall time the frame holding sample `mark` went in. */
const speak = async (conversation, audio, mark = audio.length - 1) => {
  const start = performance.now();
  let marked;
  for (let i = 0; i < audio.length; i += FRAME) {
    conversation.listen.push(audio.subarray(i, i + FRAME), RATE);
    if (marked === undefined && i + FRAME > mark) marked = performance.now();
    const due = start + ((i + FRAME) / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return marked;
};
const silence = async (conversation, seconds) => {
  const frame = new Float32Array(FRAME);
  const start = performance.now();
  for (let i = 0; i < seconds * 50; i++) {
    conversation.listen.push(frame, RATE);
    const wait = start + (i + 1) * 20 - performance.now();
    if (wait > 0) await sleep(wait);
  }
};

const oneTurn = async () => {
  const conversation = await door.openConversation({ model: 'tiny', listen: { model: 'yesno', vad: 'vad' }, speak: { model: 'voice' }, maxOutputTokens: 48, temperature: 0 });
  const at = {};
  let done;
  let transcribeMs;
  const reading = (async () => {
    for await (const event of conversation) {
      const now = performance.now();
      if (event.type === 'committed') at.committed ??= now;
      if (event.type === 'transcript') (at.transcript ??= now), (transcribeMs ??= event.transcribeMs);
      if (event.type === 'response_started') at.started ??= now;
      if (event.type === 'text_delta') at.firstToken ??= now;
      if (event.type === 'audio') at.firstAudio ??= now;
      if (event.type === 'response_done') {
        done = event;
        break;
      }
    }
  })();
  await silence(conversation, 0.3);
  const speechEnd = await speak(conversation, clip, speechEndSample);
  const quiet = silence(conversation, 2);
  await reading;
  await quiet;
  await conversation.close();
  const total = at.firstAudio - speechEnd;
  // Each stage as the stage itself timed it; what is left is the loop's own: events, hops between stages.
  const stages = {
    vadWindowMs: at.committed - speechEnd,
    transcriptionMs: transcribeMs,
    firstTokenMs: done.timings.firstTokenMs,
    firstSentenceSynthesisMs: done.timings.firstAudioMs - done.timings.firstTokenMs,
  };
  const overheadMs = total - Object.values(stages).reduce((a, b) => a + b, 0);
  return { voiceToVoiceMs: total, ...stages, overheadMs, status: done?.status };
};

const bargeIn = async () => {
  const conversation = await door.openConversation({ model: 'tiny', listen: { model: 'yesno', vad: 'vad' }, speak: { model: 'voice' }, maxOutputTokens: 4000, temperature: 0 });
  let spokeAt;
  let startedAt;
  let lastAudioAt;
  let endedAt;
  let speaking = Promise.resolve();
  const reading = (async () => {
    for await (const event of conversation) {
      const now = performance.now();
      if (event.type === 'audio' && event.response === 1) {
        lastAudioAt = now;
        if (!spokeAt) {
          spokeAt = now;
          speaking = speak(conversation, clip);
        }
      }
      if (event.type === 'speech_started') startedAt ??= now;
      if (event.type === 'response_done' && event.response === 1) {
        endedAt = now;
        break;
      }
    }
  })();
  conversation.say('Once upon a time');
  await reading;
  await speaking;
  await conversation.close();
  return { speechStartedToReplyEndMs: endedAt - startedAt, lastAudioAfterSpeechStartedMs: Math.max(0, lastAudioAt - startedAt) };
};

try {
  await oneTurn(); // warm-up: loads every model
  const turns = [];
  for (let i = 0; i < Number(values.runs); i++) turns.push(await oneTurn());
  const barges = [];
  for (let i = 0; i < 3; i++) barges.push(await bargeIn());
  /* Eight sessions at once: every turn answered, and what the process holds. */
  let concurrent;
  if (values.door === 'ws') {
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => oneTurn()));
    clearInterval(sampler);
    const ok = settled.filter((r) => r.status === 'fulfilled' && r.value.status !== 'failed').map((r) => r.value);
    concurrent = {
      sessions: 8,
      answered: ok.length,
      errors: settled.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      medianVoiceToVoiceMs: Math.round(median(ok.map((t) => t.voiceToVoiceMs))),
      rssBeforeMb: Math.round(rssBefore / 2 ** 20),
      rssPeakMb: Math.round(peak / 2 ** 20),
      rssAfterMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  }
  const summary = Object.fromEntries(Object.keys(turns[0]).filter((k) => k !== 'status').map((k) => [k, Math.round(median(turns.map((t) => t[k])) * 10) / 10]));
  const result = { runs: turns.length, door: values.door, voice: values.voice ? 'heavy (--voice)' : 'synthetic', isolation: values.isolation, median: summary, turns, bargeIn: barges, ...(concurrent ? { concurrent } : {}) };
  console.log(JSON.stringify(result, null, 2));
  console.error(
    [
      `voice to voice (${values.door}): ${summary.voiceToVoiceMs} ms = VAD window ${summary.vadWindowMs} + transcription ${summary.transcriptionMs} + first token ${summary.firstTokenMs} + first sentence ${summary.firstSentenceSynthesisMs} + overhead ${summary.overheadMs} ms (goal ≤ ${values.door === 'ws' ? 30 : 20} ms)`,
      ...(concurrent ? [`8 sessions at once: ${concurrent.answered}/8 answered, ${concurrent.errors.length} errors, median ${concurrent.medianVoiceToVoiceMs} ms; RSS ${concurrent.rssBeforeMb} → peak ${concurrent.rssPeakMb} → ${concurrent.rssAfterMb} MB`] : []),
      `barge-in: the reply ended ${barges.map((b) => b.speechStartedToReplyEndMs.toFixed(1)).join(', ')} ms after speech started; its last audio came ${barges.map((b) => b.lastAudioAfterSpeechStartedMs.toFixed(1)).join(', ')} ms after (goal ≤ 100 ms)`,
    ].join('\n'),
  );
} finally {
  await server?.close();
  await runtime[Symbol.asyncDispose]();
  rmSync(home, { recursive: true, force: true });
}
