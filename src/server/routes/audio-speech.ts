import { Hono } from 'hono';
import { toOpenAIError } from '../../api/openai/errors.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { fromSpeechRequest, SAMPLE_RATE_HEADER, speechSchema } from '../../api/openai/speech.js';
import { toSpeechDelta, toSpeechDone } from '../../api/openai/speech-events.js';
import { toVoiceLists } from '../../api/openai/voices.js';
import { contentTypeOf } from '../../audio/encode.js';
import type { AsyncAudioEncoder } from '../../audio/encoder-pool.js';
import { isAbortError } from '../../errors.js';
import type { AudioChunk, SpeakResult } from '../../types/speech.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { SSE_HEADERS, sseFrame, streamResponse } from '../sse.js';

/**
 * `POST /audio/speech` as OpenAI defines it, streamed as it is synthesized:
 * a chunked audio body (stream_format 'audio') or server-sent
 * `speech.audio.delta` / `speech.audio.done` events ('sse'). The audio is
 * encoded at the plan's rate (pcm: 24 kHz, resampled as it streams), named
 * in X-Sample-Rate. Headers wait for the first sentence's audio, so errors
 * before it (unknown model or voice, overload) keep their HTTP status.
 * `GET /audio/voices` lists voices.
 */
export const audioSpeechRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .post('/audio/speech', async (c) => {
      const body = parseBody(speechSchema, await readJson(c));
      if (body.model) c.set('model', body.model);
      const { request, format, sse, outputRate } = fromSpeechRequest(body);
      // One encoder for the whole answer, so a resampling one carries its filter history across sentences (no clicks at the joins).
      let encode: AsyncAudioEncoder | undefined;
      const encoder = (sampleRate: number) => (encode ??= deps.encoders.open(format, { sampleRate, outputRate }));
      const wrap = (bytes: Uint8Array, text?: string) => (!bytes.length || !sse ? bytes : sseFrame(toSpeechDelta(bytes, text)));
      return streamResponse<{ result: SpeakResult; last: Uint8Array }>({
        signal: requestSignal(c, deps),
        start: async (emit, signal) => {
          // Encoding runs off the event loop; its bytes go out in the order the audio came.
          let encoded: Promise<unknown> = Promise.resolve();
          try {
            const result = await deps.runtime.speak({
              ...request,
              signal,
              onAudio: (chunk: AudioChunk) => {
                const bytes = encoder(chunk.sampleRate).push(chunk.samples);
                encoded = encoded.then(async () => emit(wrap(await bytes, chunk.text)));
              },
            });
            await encoded;
            // No audio at all (nothing sayable): still a valid, empty file.
            return { result, last: await encoder(result.sampleRate).end() };
          } catch (error) {
            encode?.dispose();
            throw error;
          }
        },
        tail: ({ result, last }) => {
          const rest = wrap(last);
          return sse ? [rest, sseFrame(toSpeechDone(result, encode!.sampleRate))] : [rest];
        },
        // SSE ends with an error event; a raw audio body is broken off, so the client sees it fail.
        failure: (error) => (sse ? sseFrame(toOpenAIError(error).body) : undefined),
        headers: () => {
          const rate: Record<string, string> = encode ? { [SAMPLE_RATE_HEADER]: String(encode.sampleRate) } : {};
          return sse ? { ...SSE_HEADERS, ...rate } : { 'Content-Type': contentTypeOf(format), 'Cache-Control': 'no-cache', ...rate };
        },
        onEnd: (done, error) =>
          deps.metrics.observeOutcome(done?.result.model ?? body.model ?? 'default', done ? 'completed' : isAbortError(error) ? 'aborted' : 'failed'),
      });
    })
    .get('/audio/voices', async (c) => {
      const model = c.req.query('model') || undefined;
      if (model) c.set('model', model);
      return c.json(toVoiceLists(await deps.runtime.voices(model)));
    });
