import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { loadConfig } from '../../src/config.js';
import type { Conversation, ConversationEvent } from '../../src/runtime/conversation.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The spoken conversation on the real models (stories260K, the yes/no
 * recognizer, Silero VAD, a synthetic voice): a spoken turn is heard,
 * transcribed, answered in text and audio; speech over a reply cancels it
 * and the history keeps what was spoken of it; text turns work without a
 * microphone.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);
const RATE = 24_000;

const speech = () => {
  const wav = readTestWav(testModel(CLIP)!);
  const clip = resample(wav.samples, wav.sampleRate, RATE);
  const out = new Float32Array(clip.length + RATE * 2);
  out.set(clip, RATE / 4);
  return out;
};
const pushAll = (conversation: Conversation, audio: Float32Array) => {
  for (let i = 0; i < audio.length; i += RATE / 50) conversation.listen!.push(audio.subarray(i, i + RATE / 50), RATE);
};
/** Reads events until `until` says stop (the conversation goes on). */
const readUntil = async (iterator: AsyncIterator<ConversationEvent>, events: ConversationEvent[], until: (e: ConversationEvent) => boolean, onEvent?: (e: ConversationEvent) => void) => {
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    events.push(next.value);
    onEvent?.(next.value);
    if (until(next.value)) return;
  }
};

describe.skipIf(skip)(`a spoken conversation on the real models${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let runtime: LocalRuntime;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-conversation-'));
    runtime = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1' }));
    await runtime.pull(testModel(GGUF)!, { name: 'tiny' });
    await runtime.pull(dirname(testModel(VOICE)!), { name: 'voice' });
    await runtime.pull(dirname(testModel(YESNO)!), { name: 'yesno' });
    await runtime.pull(testModel(SILERO)!, { name: 'vad' });
  });
  /** Conversations hold their models' leases until closed: every test's is closed, pass or fail. */
  const open: Conversation[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('hears a turn, transcribes it and answers it in text and audio, with each stage timed', async () => {
    const conversation = await runtime.openConversation!({ model: 'tiny', listen: { model: 'yesno', vad: 'vad' }, speak: { model: 'voice' }, instructions: 'You tell stories.', maxOutputTokens: 40, temperature: 0 });
    open.push(conversation);
    const events: ConversationEvent[] = [];
    const iterator = conversation[Symbol.asyncIterator]();
    pushAll(conversation, speech());
    await readUntil(iterator, events, (e) => e.type === 'response_done');
    const types = events.map((e) => e.type);
    expect(types.slice(0, 6)).toEqual(['speech_started', 'speech_stopped', 'committed', 'item_added', 'transcript', 'response_started']);
    const ids = events.filter((e) => 'itemId' in e && e.type !== 'response_started').map((e) => (e as { itemId: string }).itemId);
    expect(new Set(ids.slice(0, 4)).size).toBe(1);
    expect(types).toContain('text_delta');
    expect(types).toContain('audio');
    const done = events.at(-1) as Extract<ConversationEvent, { type: 'response_done' }>;
    // stories260K never stops by itself (at any temperature): the reply runs to max_output_tokens, as OpenAI says it.
    expect(done).toMatchObject({ status: 'incomplete', reason: 'max_output_tokens', response: 1 });
    expect(done.text.length).toBeGreaterThan(0);
    expect(done.kept).toBe(done.text);
    expect(done.timings.transcribeMs).toBeGreaterThanOrEqual(0);
    expect(done.timings.firstTokenMs).toBeGreaterThanOrEqual(0);
    expect(done.timings.firstAudioMs).toBeGreaterThanOrEqual(done.timings.firstTokenMs!);
    const text = events.filter((e) => e.type === 'text_delta').map((e) => (e as { text: string }).text).join('');
    expect(text).toBe(done.text);
    expect(conversation.history()).toEqual([
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: 'YNYYYNYN' },
      { role: 'assistant', content: done.text },
    ]);
    await conversation.close();
  });

  it('speech over a reply cancels it at once (turn_detected): no audio of it follows, and the history keeps what was spoken', async () => {
    const conversation = await runtime.openConversation!({ model: 'tiny', listen: { model: 'yesno', vad: 'vad' }, speak: { model: 'voice' }, maxOutputTokens: 3000, temperature: 0 });
    open.push(conversation);
    const events: ConversationEvent[] = [];
    const iterator = conversation[Symbol.asyncIterator]();
    conversation.say('Once upon a time');
    let interrupted = false;
    await readUntil(
      iterator,
      events,
      (e) => e.type === 'response_done' && e.response === 1,
      (e) => {
        if (e.type === 'audio' && !interrupted) {
          interrupted = true;
          pushAll(conversation, speech());
        }
      },
    );
    const done = events.at(-1) as Extract<ConversationEvent, { type: 'response_done' }>;
    expect(done).toMatchObject({ status: 'cancelled', reason: 'turn_detected' });
    expect(done.kept.length).toBeGreaterThan(0);
    const words = (text: string) => text.replace(/\s+/g, ' ').trim();
    expect(words(done.text).startsWith(words(done.kept))).toBe(true);
    expect(done.kept.length).toBeLessThan(done.text.length);
    const started = events.findIndex((e) => e.type === 'speech_started');
    expect(started).toBeGreaterThan(0);
    // The turn that interrupted is answered next; nothing more of the first reply comes.
    await readUntil(iterator, events, (e) => e.type === 'response_started');
    const after = events.slice(events.indexOf(done) + 1);
    expect(after.some((e) => (e.type === 'audio' || e.type === 'text_delta') && e.response === 1)).toBe(false);
    expect(conversation.history().slice(0, 3)).toEqual([
      { role: 'user', content: 'Once upon a time' },
      { role: 'assistant', content: done.kept.trim() },
      { role: 'user', content: 'YNYYYNYN' },
    ]);
    await conversation.close();
  });

  it('truncate keeps the sentences heard before audio_end_ms, and refuses a time past the audio sent', async () => {
    const conversation = await runtime.openConversation!({ model: 'tiny', listen: false, speak: { model: 'voice' }, maxOutputTokens: 80, temperature: 0 });
    open.push(conversation);
    const events: ConversationEvent[] = [];
    const iterator = conversation[Symbol.asyncIterator]();
    conversation.say('Once upon a time');
    await readUntil(iterator, events, (e) => e.type === 'response_done');
    const chunks = events.filter((e): e is Extract<ConversationEvent, { type: 'audio' }> => e.type === 'audio').map((e) => e.chunk).filter((c) => c.text);
    expect(chunks.length).toBeGreaterThan(1);
    const second = chunks[1]!;
    const sent = Math.max(...events.filter((e): e is Extract<ConversationEvent, { type: 'audio' }> => e.type === 'audio').map((e) => e.chunk.offsetMs + (e.chunk.samples.length / e.chunk.sampleRate) * 1000));
    const reply = (events.find((e) => e.type === 'response_started') as Extract<ConversationEvent, { type: 'response_started' }>).itemId;
    expect(() => conversation.truncate(reply, sent + 1000)).toThrow(/past the .* ms of audio sent/);
    expect(() => conversation.truncate('item_none', 0)).toThrow(/no reply 'item_none'/);
    // Heard into the second sentence: the first two stay.
    conversation.truncate(reply, second.offsetMs + 1);
    await readUntil(iterator, events, (e) => e.type === 'truncated');
    expect(conversation.history().at(-1)).toEqual({ role: 'assistant', content: `${chunks[0]!.text} ${second.text}` });
    // Heard nothing: the reply leaves the history.
    conversation.truncate(reply, 0);
    expect(conversation.history().map((m) => m.role)).toEqual(['user']);
    expect(conversation.items().map((i) => i.message.role)).toEqual(['user']);
  });

  it('text in and text out, without a microphone or a voice', async () => {
    const conversation = await runtime.openConversation!({ model: 'tiny', listen: false, speak: false, maxOutputTokens: 12 });
    open.push(conversation);
    expect(conversation.listen).toBeUndefined();
    const events: ConversationEvent[] = [];
    const iterator = conversation[Symbol.asyncIterator]();
    conversation.say('Once upon a time');
    await readUntil(iterator, events, (e) => e.type === 'response_done');
    expect(events.map((e) => e.type)).not.toContain('audio');
    expect(events.at(-1)).toMatchObject({ status: 'incomplete', reason: 'max_output_tokens' });
    await conversation.close();
    await expect(runtime.openConversation!({ model: 'voice', listen: false })).rejects.toMatchObject({ code: 'model_kind_mismatch' });
  });
});
