import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import alawmulaw from 'alawmulaw';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resample } from '../../src/audio/resample.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { createMetrics } from '../../src/server/metrics.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import type { ChatRequest, GenerationResult } from '../../src/types/chat.js';
import { readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { missingModels, testModel } from '../helpers/models.js';
import { writeStreamingTransducer } from '../helpers/streaming-transducer.js';

/**
 * The realtime door in process, on the real models, for what a daemon in a
 * child process cannot be made to do on cue: a tool call (the chat is the
 * real one, except that with tools offered and no tool result yet it
 * answers with a call, as stories260K cannot), G.711 in and out, a
 * session that reaches its longest duration, and a client that stops
 * reading while audio is made.
 */

const fixtures = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'fixtures', 'tls');
const ca = readFileSync(join(fixtures, 'cert.pem'));
const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);

type Event = { type: string } & Record<string, unknown>;

describe.skipIf(skip)(`the realtime door in process${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let runtime: LocalRuntime;
  let server: RunningServer;
  const metrics = createMetrics();
  const requests: ChatRequest[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-realtime-'));
    runtime = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1' }));
    await runtime.pull(testModel(GGUF)!, { name: 'tiny' });
    await runtime.pull(dirname(testModel(VOICE)!), { name: 'voice' });
    await runtime.pull(dirname(testModel(YESNO)!), { name: 'yesno' });
    await runtime.pull(testModel(SILERO)!, { name: 'vad' });
    await writeStreamingTransducer(join(home, 'synthetic-zipformer'));
    await runtime.pull(join(home, 'synthetic-zipformer'), { name: 'zipformer' });
    const realChat = runtime.chat;
    runtime.chat = async (request): Promise<GenerationResult> => {
      requests.push(request);
      if (request.tools?.length && !request.messages.some((m) => m.role === 'tool')) {
        return { model: 'tiny', text: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool_calls', usage: { promptTokens: 5, completionTokens: 3, totalTokens: 8 }, timings: {} } as unknown as GenerationResult;
      }
      return realChat(request);
    };
    server = await serve({ maxSessionMs: 60_000, stallMs: 300 });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const serve = (realtime: { maxSessionMs: number; stallMs: number }) =>
    startServer(runtime, { port: 0, hostname: '127.0.0.1', tls: { cert: readFileSync(join(fixtures, 'cert.pem')), key: readFileSync(join(fixtures, 'key.pem')) }, metrics, realtime });

  const connect = async (on = server) => {
    const client = new OpenAI({ apiKey: 'none', baseURL: `${on.url}/v1` });
    const rt = new OpenAIRealtimeWS({ model: 'tiny', options: { ca } }, client);
    rt.on('error', () => undefined);
    const events: Event[] = [];
    const waiters: { test: (e: Event) => boolean; done: (e: Event) => void }[] = [];
    rt.on('event', (event) => {
      events.push(event as unknown as Event);
      for (const w of [...waiters]) if (w.test(event as unknown as Event)) (waiters.splice(waiters.indexOf(w), 1), w.done(event as unknown as Event));
    });
    const next = (test: (e: Event) => boolean, from = 0) => {
      const seen = events.slice(from).find(test);
      return seen ? Promise.resolve(seen) : new Promise<Event>((done) => waiters.push({ test, done }));
    };
    const closed = new Promise<number>((done) => rt.socket.on('close', (code) => done(code)));
    await next((e) => e.type === 'session.created');
    return { rt, events, next, closed, send: (e: Record<string, unknown>) => rt.socket.send(JSON.stringify(e)), types: () => events.map((e) => e.type) };
  };

  it('a tool call: function_call output item and arguments events; the output goes back and is answered', async () => {
    const s = await connect();
    s.send({ type: 'session.update', session: { output_modalities: ['text'], max_output_tokens: 8, tools: [{ type: 'function', name: 'get_weather', description: 'The weather in a city.', parameters: { type: 'object', properties: { city: { type: 'string' } } } }], tool_choice: 'auto' } });
    await s.next((e) => e.type === 'session.updated');
    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] } });
    s.send({ type: 'response.create' });
    const done = (await s.next((e) => e.type === 'response.done')) as unknown as { response: { status: string; output: { type: string; call_id: string; name: string; arguments: string }[] } };
    expect(done.response.status).toBe('completed');
    expect(done.response.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' })]);
    const args = s.events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(args).toMatchObject({ call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(s.types()).toContain('response.output_item.added');
    expect(s.types()).not.toContain('response.output_text.delta');
    expect(requests.at(-1)!.tools?.map((t) => t.name)).toEqual(['get_weather']);

    const from = s.events.length;
    s.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_1', output: '{"sky":"clear"}' } });
    const added = await s.next((e) => e.type === 'conversation.item.added', from);
    expect(added).toMatchObject({ item: { type: 'function_call_output', call_id: 'call_1', output: '{"sky":"clear"}' } });
    s.send({ type: 'response.create' });
    const answered = (await s.next((e) => e.type === 'response.done', from)) as unknown as { response: { output: { type: string }[] } };
    expect(answered.response.output[0]!.type).toBe('message');
    const asked = requests.at(-1)!;
    expect(asked.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(asked.messages[1]!.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    s.rt.close();
  });

  it('G.711: µ-law in at 8 kHz is heard and transcribed; A-law out at 8 kHz', async () => {
    const s = await connect();
    s.send({ type: 'session.update', session: { max_output_tokens: 12, audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcma' } } } } });
    const updated = await s.next((e) => e.type === 'session.updated');
    expect(updated).toMatchObject({ session: { audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcma' } } } } });
    const wav = readTestWav(testModel(CLIP)!);
    const clip = resample(wav.samples, wav.sampleRate, 8000);
    const padded = new Float32Array(clip.length + 8000 * 1.75);
    padded.set(clip, 2000);
    const pcm = Int16Array.from(padded, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
    const ulaw = alawmulaw.mulaw.encode(pcm);
    for (let i = 0; i < ulaw.length; i += 160) s.send({ type: 'input_audio_buffer.append', audio: Buffer.from(ulaw.subarray(i, i + 160)).toString('base64') });
    const transcript = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    expect(transcript.transcript).toBe('YNYYYNYN');
    await s.next((e) => e.type === 'response.done');
    const bytes = Buffer.concat(s.events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta as string, 'base64')));
    expect(bytes.length).toBeGreaterThan(800);
    const decoded = alawmulaw.alaw.decode(bytes);
    expect(Math.max(...decoded.map(Math.abs))).toBeGreaterThan(1000);
    s.rt.close();
  });

  it('a client that stops reading while audio is made is closed, and its session ends', async () => {
    const url = `${server.url.replace(/^https/, 'wss')}/v1/realtime?model=tiny`;
    const ws = new WebSocket(url, { ca });
    await new Promise((done) => ws.once('message', done));
    ws.send(JSON.stringify({ type: 'session.update', session: { max_output_tokens: 4000 } }));
    ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } }));
    ws.send(JSON.stringify({ type: 'response.create' }));
    // Stop reading: the socket's buffers fill with audio the client never takes.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = metrics.realtime.count;
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 200 && metrics.realtime.count >= before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(metrics.realtime.count).toBe(before - 1);
    ws.terminate();
  });

  it('a streaming recognizer: transcription deltas while the turn is spoken (a transcription session)', async () => {
    const ws = new WebSocket(`${server.url.replace(/^https/, 'wss')}/v1/realtime?intent=transcription`, { ca });
    const events: Event[] = [];
    const completed = new Promise<void>((done) =>
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as Event;
        events.push(event);
        if (event.type === 'session.created') ws.send(JSON.stringify({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'zipformer' } } } } }));
        if (event.type === 'session.updated') {
          const wav = readTestWav(testModel(CLIP)!);
          const clip = resample(wav.samples, wav.sampleRate, 24_000);
          const padded = new Float32Array(clip.length + 24_000 * 2);
          padded.set(clip, 6000);
          const pcm = Buffer.alloc(padded.length * 2);
          padded.forEach((v, i) => pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2));
          for (let i = 0; i < pcm.length; i += 960) ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + 960).toString('base64') }));
        }
        if (event.type === 'conversation.item.input_audio_transcription.completed') done();
      }),
    );
    await completed;
    const types = events.map((e) => e.type);
    expect(events.find((e) => e.type === 'session.updated')).toMatchObject({ session: { audio: { input: { transcription: { model: 'zipformer' } } } } });
    const firstDelta = types.indexOf('conversation.item.input_audio_transcription.delta');
    expect(firstDelta).toBeGreaterThan(types.indexOf('input_audio_buffer.speech_started'));
    expect(firstDelta).toBeLessThan(types.indexOf('input_audio_buffer.speech_stopped'));
    const text = events.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta').map((e) => e.delta as string).join('');
    expect((events.at(-1)!.transcript as string).startsWith(text.trim())).toBe(true);
    ws.close();
  });

  it('a session that reaches its longest duration gets an error event and a close (1008)', async () => {
    const short = await serve({ maxSessionMs: 300, stallMs: 15_000 });
    const s = await connect(short);
    expect(await s.closed).toBe(1008);
    expect(s.events.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/longest duration/) } });
    await short.close();
  });
});
