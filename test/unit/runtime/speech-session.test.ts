import { describe, expect, it } from 'vitest';
import { createSpeechSession, MAX_APPEND_CHARACTERS, MAX_SESSION_CHARACTERS, type SessionSynthesizer, type SpeechChunk } from '../../../src/runtime/speech-session.js';

/** A synthesizer making one sample per character at 1 kHz, recording what it was asked. */
const fakeSynth = (options: { gate?: () => Promise<void> } = {}) => {
  const said: string[] = [];
  const synthesize: SessionSynthesizer = async (text, signal) => {
    said.push(text);
    await options.gate?.();
    signal.throwIfAborted();
    return { samples: new Float32Array(/[a-z]/i.test(text) ? text.length : 0).fill(0.5), sampleRate: 1000 };
  };
  return { said, synthesize };
};

const collect = async (iterable: AsyncIterable<SpeechChunk>) => {
  const chunks: SpeechChunk[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
};

const tick = () => new Promise((r) => setImmediate(r));

describe('speech session', () => {
  it('speaks sentences as they complete from text that arrives in pieces, with offsets in the session audio', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize });
    const reading = collect(session);
    for (const token of ['Hel', 'lo there', '. How a', 're you? Fi', 'ne']) {
      session.append(token);
      await tick();
    }
    // "Fine" is not yet a whole sentence: it waits for more text or the close.
    expect(synth.said).toEqual(['Hello there.', 'How are you?']);
    session.close();
    const chunks = await reading;
    expect(chunks.map((c) => c.text)).toEqual(['Hello there.', 'How are you?', 'Fine']);
    expect(chunks.map((c) => c.offsetSamples)).toEqual([0, 12, 24]);
    expect(chunks.map((c) => c.offsetMs)).toEqual([0, 12, 24]);
    expect(await session.done).toMatchObject({ samples: 28, seconds: 0.028, cancelled: false });
  });

  it('flush() speaks a half sentence now', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize });
    session.append('Wait for it');
    await tick();
    expect(synth.said).toEqual([]);
    session.flush();
    await tick();
    expect(synth.said).toEqual(['Wait for it']);
    session.close();
    expect((await collect(session)).map((c) => c.text)).toEqual(['Wait for it']);
  });

  it('pauses synthesis when nobody reads (bounded buffer) and goes on when read', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize, maxBuffered: 2 });
    session.append(Array.from({ length: 10 }, (_, i) => `Sentence ${i}.`).join(' '));
    session.close();
    for (let i = 0; i < 5; i++) await tick();
    expect(synth.said).toHaveLength(2);
    const chunks = await collect(session);
    expect(chunks).toHaveLength(10);
    expect(synth.said).toHaveLength(10);
  });

  it('cancel() stops mid-sentence, drops what was queued and ends the iterable without an error', async () => {
    let open!: () => void;
    const synth = fakeSynth({ gate: () => new Promise<void>((r) => (open = r)) });
    const session = createSpeechSession({ synthesize: synth.synthesize });
    const reading = collect(session);
    session.append('One. Two. Three. Four.');
    await tick();
    session.cancel();
    open();
    expect(await reading).toEqual([]);
    expect(await session.done).toMatchObject({ cancelled: true, samples: 0 });
    expect(synth.said).toEqual(['One.']);
    session.append('ignored after cancel');
  });

  it('ends when its signal fires, and refuses text after close()', async () => {
    const synth = fakeSynth();
    const stop = new AbortController();
    const session = createSpeechSession({ synthesize: synth.synthesize, signal: stop.signal });
    stop.abort();
    expect(await collect(session)).toEqual([]);
    expect((await session.done).cancelled).toBe(true);
    const closed = createSpeechSession({ synthesize: synth.synthesize });
    closed.close();
    expect(() => closed.append('more')).toThrow(/closed/);
  });

  it('skips text with nothing sayable, and a synthesis failure reaches the reader', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize });
    session.append('... 123. Words here.');
    session.close();
    expect((await collect(session)).map((c) => c.text)).toEqual(['Words here.']);
    const failing = createSpeechSession({ synthesize: async () => Promise.reject(new Error('engine gone')) });
    failing.append('Hello.');
    failing.close();
    await expect(collect(failing)).rejects.toThrow('engine gone');
    await expect(failing.done).rejects.toThrow('engine gone');
  });

  it('a reader that leaves early ends the session and releases it', async () => {
    let ended = 0;
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize, onEnd: () => void (ended += 1) });
    session.append('One. Two. Three. Four. Five.');
    for await (const chunk of session) {
      expect(chunk.text).toBe('One.');
      break;
    }
    expect((await session.done).cancelled).toBe(true);
    expect(ended).toBe(1);
  });

  it('starts a long first sentence at its first clause, before the sentence is over', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize });
    const reading = collect(session);
    session.append('When the morning train was late again that Tuesday, no');
    await tick();
    expect(synth.said).toEqual(['When the morning train was late again that Tuesday,']);
    session.append('body was surprised, not even a little. Later, a dog barked.');
    session.close();
    expect((await reading).map((c) => c.text)).toEqual(['When the morning train was late again that Tuesday,', 'nobody was surprised, not even a little.', 'Later, a dog barked.']);
  });

  it('refuses an append over the per-append limit and text past the per-session limit', async () => {
    const synth = fakeSynth();
    const session = createSpeechSession({ synthesize: synth.synthesize, maxBuffered: 1 });
    expect(() => session.append('x'.repeat(MAX_APPEND_CHARACTERS + 1))).toThrow(/One append may carry/);
    const piece = 'word '.repeat(MAX_APPEND_CHARACTERS / 5);
    let taken = 0;
    expect(() => {
      for (;;) {
        session.append(piece);
        taken += piece.length;
      }
    }).toThrow(/takes 1000000 characters in all/);
    expect(taken).toBeLessThanOrEqual(MAX_SESSION_CHARACTERS);
    expect(taken).toBeGreaterThan(MAX_SESSION_CHARACTERS - piece.length);
    expect(session.progress()).toMatchObject({ state: 'open', characters: taken });
    session.cancel();
  });
});
