import { Hono } from 'hono';
import { z } from 'zod';
import { contentTypeOf, createEncoder, type AudioFormat } from '../../audio/encode.js';
import { AppError, isAbortError } from '../../errors.js';
import type { AudioChunk, SpeakResult } from '../../types/speech.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { parseBody } from '../openai.js';
import { SSE_HEADERS, sseFrame, streamResponse } from '../sse.js';
import { toHttpError } from '../errors.js';

/**
 * `POST /audio/speech` as OpenAI defines it, streamed as it is synthesized:
 * a chunked audio body (stream_format 'audio') or server-sent
 * `speech.audio.delta` / `speech.audio.done` events ('sse'). Headers wait
 * for the first sentence's audio, so errors before it (unknown model or
 * voice, overload) keep their HTTP status. `GET /audio/voices` lists voices.
 */

export const SPEECH_FORMATS = ['mp3', 'opus', 'flac', 'wav', 'pcm'] as const;

const speechSchema = z.object({
  // OpenAI requires it; murmur falls back to its default voice model.
  model: z.string().min(1).nullish(),
  input: z.string(),
  voice: z.union([z.string(), z.object({ id: z.string() })]).nullish(),
  response_format: z.string().nullish(),
  speed: z.number().nullish(),
  instructions: z.string().nullish(),
  stream_format: z.enum(['audio', 'sse']).nullish(),
});

const formatOf = (raw: string | null | undefined): AudioFormat => {
  const format = raw ?? 'mp3';
  if ((SPEECH_FORMATS as readonly string[]).includes(format)) return format as AudioFormat;
  throw new AppError('invalid_request', `Unsupported response_format '${format}'; murmur encodes ${SPEECH_FORMATS.join(', ')}.`, { param: 'response_format' });
};

/** OpenAI counts audio output in tokens; murmur reports 50 per second of audio, a comparable scale. */
const AUDIO_TOKENS_PER_SECOND = 50;

const usageOf = (result: SpeakResult) => {
  const input = result.characters;
  const output = Math.ceil((result.sampleCount / result.sampleRate) * AUDIO_TOKENS_PER_SECOND);
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
};

/** murmur's additions to `speech.audio.done`, which RemoteRuntime turns back into a SpeakResult. */
const doneExtras = (result: SpeakResult, sampleRate: number) => ({
  model: result.model,
  voice: result.voice,
  sample_rate: sampleRate,
  characters: result.characters,
  timings: { first_audio_ms: result.timings.firstAudioMs, total_ms: result.timings.totalMs, real_time_factor: result.timings.realTimeFactor },
});


export const audioSpeechRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .post('/audio/speech', async (c) => {
      const body = parseBody(speechSchema, await readJson(c));
      if (body.model) c.set('model', body.model);
      const format = formatOf(body.response_format);
      const sse = body.stream_format === 'sse';
      const voice = typeof body.voice === 'object' && body.voice ? body.voice.id : (body.voice ?? undefined);
      let encode: ReturnType<typeof createEncoder> | undefined;
      // murmur adds the sentence's `text` to each delta (OpenAI clients ignore it; RemoteRuntime uses it).
      const wrap = (bytes: Uint8Array, text?: string) =>
        !bytes.length ? bytes : sse ? sseFrame({ type: 'speech.audio.delta', audio: Buffer.from(bytes).toString('base64'), ...(text ? { text } : {}) }) : bytes;
      return streamResponse<SpeakResult>({
        signal: requestSignal(c, deps),
        start: (emit, signal) =>
          deps.runtime.speak({
            model: body.model ?? undefined,
            text: body.input,
            voice,
            speed: body.speed ?? undefined,
            signal,
            onAudio: (chunk: AudioChunk) => {
              encode ??= createEncoder(format, { sampleRate: chunk.sampleRate });
              emit(wrap(encode.push(chunk.samples), chunk.text));
            },
          }),
        tail: (result) => {
          // No audio at all (nothing sayable): still a valid, empty file.
          encode ??= createEncoder(format, { sampleRate: result.sampleRate });
          const last = wrap(encode.end());
          if (!sse) return [last];
          return [last, sseFrame({ type: 'speech.audio.done', usage: usageOf(result), ...doneExtras(result, encode.sampleRate) })];
        },
        // SSE ends with an error event; a raw audio body is broken off, so the client sees it fail.
        failure: (error) => (sse ? sseFrame(toHttpError(error).body) : undefined),
        headers: () => {
          const rate: Record<string, string> = encode ? { 'X-Sample-Rate': String(encode.sampleRate) } : {};
          return sse ? { ...SSE_HEADERS, ...rate } : { 'Content-Type': contentTypeOf(format), 'Cache-Control': 'no-cache', ...rate };
        },
        onEnd: (result, error) =>
          deps.metrics.observeOutcome(result?.model ?? body.model ?? 'default', result ? 'completed' : isAbortError(error) ? 'aborted' : 'failed'),
      });
    })
    .get('/audio/voices', async (c) => {
      const model = c.req.query('model') || undefined;
      if (model) c.set('model', model);
      const lists = await deps.runtime.voices(model);
      return c.json({
        object: 'list',
        data: lists.map((list) => ({ model: list.model, default_voice: list.defaultVoice ?? null, voices: list.voices })),
      });
    });
