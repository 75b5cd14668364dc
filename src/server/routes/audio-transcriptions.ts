import { Hono, type Context } from 'hono';
import { createTranscriptDeltas, toTranscriptDone } from '../../api/openai/transcription-events.js';
import { assertTranscriptionForm, fromTranscriptionForm, transcriptionModel, type FormFields, type TranscriptionTask } from '../../api/openai/transcription-request.js';
import { MODEL_HEADER, toTranscriptionAnswer } from '../../api/openai/transcription-response.js';
import { AppError } from '../../errors.js';
import type { TranscribeResult } from '../../types/transcript.js';
import { requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { limitBody } from '../middleware/body-limit.js';
import { streamGeneration } from '../sse.js';

/** Largest upload the transcription routes take: 100 MiB (about 50 minutes of 16 kHz 16-bit WAV, hours of mp3). */
export const DEFAULT_UPLOAD_LIMIT = 100 * 1024 * 1024;

/** The paths that take uploads; the app's global body limit leaves them to this route's own. */
export const UPLOAD_PATHS: readonly string[] = ['/v1/audio/transcriptions', '/v1/audio/translations'];

export interface TranscriptionRouteOptions {
  /** Bytes; default DEFAULT_UPLOAD_LIMIT. */
  readonly maxBytes?: number;
}

/**
 * `POST /audio/transcriptions` and `POST /audio/translations`, as OpenAI
 * defines them (see api/openai/transcription-request.ts for the form).
 * With stream=true, segments go out as `transcript.text.delta` events as
 * they are decoded, then `transcript.text.done`. A client that leaves stops
 * decoding.
 */
export const audioTranscriptionsRoutes = (deps: RouteDeps, options: TranscriptionRouteOptions = {}) => {
  const maxBytes = options.maxBytes ?? DEFAULT_UPLOAD_LIMIT;
  const limit = limitBody(
    maxBytes,
    () =>
      new AppError('payload_too_large', `The upload is larger than the daemon's limit of ${maxBytes} bytes.`, {
        param: 'file',
        hint: 'Split the audio, or send a compressed format (mp3, ogg, flac).',
      }),
  );

  /** The form's fields; a body that is not the multipart it says it is (no boundary, a boundary that never comes) is a 400. */
  const readForm = async (c: Context<ServerEnv>): Promise<FormFields> => {
    try {
      return (await c.req.parseBody({ all: true })) as FormFields;
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('invalid_request', `The upload is not a well-formed ${c.req.header('Content-Type')?.split(';')[0] ?? 'form'} body: ${(error as Error).message}.`, {
        param: 'file',
        hint: 'Send multipart/form-data with a boundary, as `curl -F file=@audio.wav` does.',
        cause: error,
      });
    }
  };

  const handle = (task: TranscriptionTask) => async (c: Context<ServerEnv>) => {
    assertTranscriptionForm(c.req.header('Content-Type') ?? '');
    const fields = await readForm(c);
    const model = transcriptionModel(fields);
    if (model) c.set('model', model);
    const { request, format, granularities, stream } = await fromTranscriptionForm(fields, task);
    const signal = requestSignal(c, deps);

    if (stream) {
      const delta = createTranscriptDeltas();
      return streamGeneration<TranscribeResult>({
        signal,
        start: (onToken, streamSignal) => deps.runtime.transcribe({ ...request, signal: streamSignal, onSegment: (segment) => onToken(segment.text) }),
        head: () => [],
        token: delta,
        tail: (result) => [toTranscriptDone(result)],
      });
    }
    const result = await deps.runtime.transcribe({ ...request, signal });
    c.header(MODEL_HEADER, result.model);
    const answer = toTranscriptionAnswer(result, format, task, granularities);
    if (answer.kind === 'json') return c.json(answer.body);
    return answer.contentType ? c.text(answer.body, 200, { 'Content-Type': answer.contentType }) : c.text(answer.body);
  };

  return new Hono<ServerEnv>().post('/audio/transcriptions', limit, handle('transcribe')).post('/audio/translations', limit, handle('translate'));
};
