import type { TtsHandle, TtsVoice } from '../engines/speech/tts-types.js';
import { concatFloat32 } from '../audio/pcm.js';
import { AppError } from '../errors.js';
import { splitFirstClause, splitSentences } from '../text/sentences.js';
import type { AudioChunk, SpeakRequest, SpeakResult, VoiceList } from '../types/speech.js';

/** The most characters one speak request may carry (the API's limit; OpenAI's own is 4096). */
export const MAX_SPEAK_CHARACTERS = 100_000;
export const MIN_SPEED = 0.25;
export const MAX_SPEED = 4;

/** OpenAI's voice names: a client written for OpenAI gets the model's default voice instead of an error. */
export const OPENAI_VOICES: readonly string[] = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];

/**
 * Checks what can be checked before a model loads: text present and within
 * MAX_SPEAK_CHARACTERS, speed within 0.25–4. Throws AppError('invalid_request').
 */
export const checkSpeakRequest = (request: Pick<SpeakRequest, 'text' | 'speed'>): void => {
  if (typeof request.text !== 'string' || !request.text.trim()) {
    throw new AppError('invalid_request', 'There is no text to speak: the input is empty or only whitespace.', { param: 'input' });
  }
  if (request.text.length > MAX_SPEAK_CHARACTERS) {
    throw new AppError('invalid_request', `The input is ${request.text.length} characters; the limit is ${MAX_SPEAK_CHARACTERS} per request.`, {
      hint: 'Split the text into several requests (murmur speak does that itself when reading stdin).',
      param: 'input',
    });
  }
  checkSpeed(request.speed);
};

/** Checks a pace (absent is fine): 0.25–4. Throws AppError('invalid_request'). */
export const checkSpeed = (speed: number | undefined): void => {
  if (speed !== undefined && !(Number.isFinite(speed) && speed >= MIN_SPEED && speed <= MAX_SPEED)) {
    throw new AppError('invalid_request', `Speed must be between ${MIN_SPEED} and ${MAX_SPEED}, not ${speed}.`, { param: 'speed' });
  }
};

const listed = (voices: readonly TtsVoice[]): string => {
  const names = voices.slice(0, 20).map((v) => v.name);
  return `${names.join(', ')}${voices.length > names.length ? ` and ${voices.length - names.length} more` : ''}`;
};

type VoiceSource = Pick<TtsHandle, 'voices' | 'defaultVoice'> & Partial<Pick<TtsHandle, 'speakerCount'>>;

/**
 * The voice `wanted` names on `handle`: its name (any case), `speaker-N` or a
 * bare speaker number: a named voice's id, or any id below the model's
 * speaker count (a 904-speaker Piper voice names only a few of them).
 */
const findVoice = (handle: VoiceSource, wanted: string): TtsVoice | undefined => {
  const lower = wanted.toLowerCase();
  const byName = handle.voices.find((v) => v.name.toLowerCase() === lower);
  if (byName) return byName;
  const number = /^(?:speaker[-_ ]?)?(\d+)$/i.exec(wanted);
  if (!number) return undefined;
  const id = Number(number[1]);
  return handle.voices.find((v) => v.id === id) ?? (id < (handle.speakerCount ?? 0) ? { name: `speaker-${id}`, id } : undefined);
};

const speakerRange = (handle: VoiceSource): string =>
  handle.speakerCount && handle.speakerCount > handle.voices.length ? `, or any speaker id 0-${handle.speakerCount - 1}` : '';

/**
 * The voice `asked` names on `handle`: its name (any case), `speaker-N` or a
 * bare speaker number; an OpenAI voice name or nothing gives the default:
 * `preferred` (MURMUR_VOICE) when the model has it, else the model's own.
 * An unknown name throws AppError('invalid_request') listing the voices.
 */
export const resolveVoice = (handle: VoiceSource, asked: string | undefined, model = 'the model', preferred?: string): TtsVoice => {
  const fallback =
    (preferred?.trim() ? findVoice(handle, preferred.trim()) : undefined) ?? handle.voices.find((v) => v.name === handle.defaultVoice) ?? handle.voices[0]!;
  const wanted = asked?.trim();
  if (!wanted) return fallback;
  const found = findVoice(handle, wanted);
  if (found) return found;
  if (OPENAI_VOICES.includes(wanted.toLowerCase())) return fallback;
  throw new AppError('invalid_request', `'${wanted}' is not a voice of ${model}; its voices are ${listed(handle.voices)}${speakerRange(handle)}.`, {
    hint: `Run \`murmur speak --voices --model ${model}\` to list them.`,
    param: 'voice',
  });
};

/** A handle's voices as the Runtime lists them. */
export const voiceList = (model: string, handle: Pick<TtsHandle, 'voices' | 'defaultVoice'>): VoiceList => ({
  model,
  voices: handle.voices.map((v) => ({ name: v.name, id: v.id, ...(v.language ? { language: v.language } : {}), ...(v.gender ? { gender: v.gender } : {}) })),
  defaultVoice: handle.defaultVoice,
});

/**
 * The streaming synthesis loop: splits the text into sentences, synthesizes
 * them one after another and hands each sentence's audio to `onAudio` as soon
 * as it is ready, in order. A sentence that yields no audio (characters the
 * voice cannot say) is skipped. `waitedMs` (loading, queueing) is added to
 * the timings; `preferredVoice` (MURMUR_VOICE) is the default voice when the
 * model has it.
 */
export const synthesizeSpeech = async (handle: TtsHandle, model: string, request: SpeakRequest, waitedMs = 0, preferredVoice?: string): Promise<SpeakResult> => {
  checkSpeakRequest(request);
  const started = performance.now() - waitedMs;
  const voice = resolveVoice(handle, request.voice, model, preferredVoice);
  const speed = request.speed ?? 1;
  const parts: Float32Array[] = [];
  let firstAudioMs: number | undefined;
  let made = 0;
  // Cut as a speech session cuts the same text, so both say the same pieces.
  const sentences = splitFirstClause(splitSentences(request.text)).filter((s) => s.trim());
  for (const sentence of sentences) {
    request.signal?.throwIfAborted();
    const samples = await handle.synthesize(sentence, { sid: voice.id, speed, signal: request.signal });
    if (!samples.length) continue;
    firstAudioMs ??= performance.now() - started;
    made += samples.length;
    // Streamed audio is not also kept: a long text would otherwise hold all of it.
    if (!request.onAudio) parts.push(samples);
    const chunk: AudioChunk = { samples, sampleRate: handle.sampleRate, text: sentence };
    request.onAudio?.(chunk);
  }
  const samples = concatFloat32(parts);
  const totalMs = performance.now() - started;
  const seconds = made / handle.sampleRate;
  return {
    model,
    voice: voice.name,
    sampleRate: handle.sampleRate,
    samples,
    sampleCount: made,
    characters: request.text.length,
    timings: {
      firstAudioMs: firstAudioMs ?? totalMs,
      totalMs,
      realTimeFactor: seconds > 0 ? totalMs / 1000 / seconds : 0,
    },
  };
};
