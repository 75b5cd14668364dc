import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { createSegmentEvents, toTranscriptDone } from '../../api/openai/transcription-events.js';
import { assertTranscriptionForm, fromTranscriptionForm, transcriptionModel, type TranscriptionTask } from '../../api/openai/transcription-request.js';
import { MODEL_HEADER, toTranscriptionAnswer } from '../../api/openai/transcription-response.js';
import { AppError } from '../../errors.js';
import type { TranscribeResult, TranscriptSegment } from '../../types/transcript.js';
import { requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { storePaths } from '../../store/paths.js';
import { refuseBody } from '../middleware/body-limit.js';
import { streamGeneration } from '../sse.js';
import { readUploadForm, uploadDirectory } from '../upload-form.js';

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
 * decoding. The upload streams to a temporary file under the store's tmp/
 * (see upload-form.ts), counted against the limit as it comes, and is
 * deleted when the request ends, however it ends.
 */
export const audioTranscriptionsRoutes = (deps: RouteDeps, options: TranscriptionRouteOptions = {}) => {
  const maxBytes = options.maxBytes ?? DEFAULT_UPLOAD_LIMIT;
  const tooLarge = () =>
    new AppError('payload_too_large', `The upload is larger than the daemon's limit of ${maxBytes} bytes.`, {
      param: 'file',
      hint: 'Split the audio, or send a compressed format (mp3, ogg, flac).',
    });
  const uploads = uploadDirectory(storePaths(deps.runtime.config.home).tmp);

  /** Refuses at once a body whose Content-Length says it is over the limit; any other is counted as it is read. */
  const limit: MiddlewareHandler = async (c, next) => {
    const length = c.req.header('Content-Length');
    if (length !== undefined && !c.req.header('Transfer-Encoding') && Number(length) > maxBytes) return refuseBody(c, tooLarge());
    return next();
  };

  const handle = (task: TranscriptionTask) => async (c: Context<ServerEnv>) => {
    const contentType = c.req.header('Content-Type') ?? '';
    assertTranscriptionForm(contentType);
    const signal = requestSignal(c, deps);
    // The form is read as it arrives: the audio goes to a file (deleted when the request is done), the fields stay in memory.
    const declared = Number(c.req.header('Content-Length'));
    const form = await readUploadForm({
      body: c.req.raw.body,
      contentType,
      maxBytes,
      dir: await uploads(),
      signal: c.req.raw.signal,
      tooLarge,
      ...(Number.isSafeInteger(declared) && declared >= 0 ? { contentLength: declared } : {}),
    });
    let handedOver = false;
    try {
      const model = transcriptionModel(form.fields);
      if (model) c.set('model', model);
      const { request, format, granularities, stream } = fromTranscriptionForm(form.fields, task);

      if (stream) {
        handedOver = true;
        let started = false;
        try {
          return await streamGeneration<TranscribeResult, TranscriptSegment>({
            signal,
            start: (onToken, streamSignal) => {
              started = true;
              return deps.runtime.transcribe({ ...request, signal: streamSignal, onSegment: (segment) => segment.text && onToken(segment) }).finally(form.remove);
            },
            head: () => [],
            token: createSegmentEvents(),
            tail: (result) => [toTranscriptDone(result)],
          });
        } catch (error) {
          if (!started) await form.remove();
          throw error;
        }
      }
      const result = await deps.runtime.transcribe({ ...request, signal });
      c.header(MODEL_HEADER, result.model);
      const answer = toTranscriptionAnswer(result, format, task, granularities);
      if (answer.kind === 'json') return c.json(answer.body);
      return answer.contentType ? c.text(answer.body, 200, { 'Content-Type': answer.contentType }) : c.text(answer.body);
    } finally {
      if (!handedOver) await form.remove();
    }
  };

  return new Hono<ServerEnv>().post('/audio/transcriptions', limit, handle('transcribe')).post('/audio/translations', limit, handle('translate'));
};
