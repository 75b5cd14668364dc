import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../../errors.js';
import type { TranscribeResult } from '../../types/transcript.js';
import { transcriptFormats, type TranscriptFormat } from '../../text/subtitles.js';
import { formatTranscript, jsonBody, usageBody, verboseBody } from '../../text/transcript-format.js';
import { refuseBody, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { streamGeneration } from '../sse.js';

/** Largest upload the transcription routes take: 100 MiB (about 50 minutes of 16 kHz 16-bit WAV, hours of mp3). */
export const DEFAULT_UPLOAD_LIMIT = 100 * 1024 * 1024;

/** The paths that take uploads; the app's global body limit leaves them to this route's own. */
export const UPLOAD_PATHS: readonly string[] = ['/v1/audio/transcriptions', '/v1/audio/translations'];

export interface TranscriptionRouteOptions {
  /** Bytes; default DEFAULT_UPLOAD_LIMIT. */
  readonly maxBytes?: number;
}

type Fields = Record<string, string | File | (string | File)[]>;

const text = (fields: Fields, name: string): string | undefined => {
  const value = fields[name];
  const one = Array.isArray(value) ? value[0] : value;
  if (one === undefined) return undefined;
  if (typeof one !== 'string') throw new AppError('invalid_request', `'${name}' must be a text field, not a file.`, { param: name });
  return one.trim() || undefined;
};

const list = (fields: Fields, name: string): string[] => {
  const value = fields[`${name}[]`] ?? fields[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
};

const respond = (c: Context, result: TranscribeResult, format: TranscriptFormat, task: 'transcribe' | 'translate', granularities: string[]) => {
  c.header('X-Murmur-Model', result.model);
  switch (format) {
    case 'text':
    case 'srt':
      return c.text(formatTranscript(result, format));
    case 'vtt':
      return c.text(formatTranscript(result, format), 200, { 'Content-Type': 'text/vtt; charset=utf-8' });
    case 'verbose_json':
      return c.json(verboseBody(result, task, granularities));
    default:
      return c.json(jsonBody(result));
  }
};

/**
 * `POST /audio/transcriptions` and `POST /audio/translations`, as OpenAI
 * defines them: a multipart upload (file, model, language, prompt,
 * response_format, timestamp_granularities[], temperature, stream). With
 * stream=true, segments go out as `transcript.text.delta` events as they are
 * decoded, then `transcript.text.done`. A client that leaves stops decoding.
 * murmur adds a `vad` field: true, false or a VAD model's name.
 */
export const audioTranscriptionsRoutes = (deps: RouteDeps, options: TranscriptionRouteOptions = {}) => {
  const maxBytes = options.maxBytes ?? DEFAULT_UPLOAD_LIMIT;
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      refuseBody(
        c,
        new AppError('payload_too_large', `The upload is larger than the daemon's limit of ${maxBytes} bytes.`, {
          param: 'file',
          hint: 'Split the audio, or send a compressed format (mp3, ogg, flac).',
        }),
      ),
  });

  const handle = (task: 'transcribe' | 'translate') => async (c: Context<ServerEnv>) => {
    const type = c.req.header('Content-Type') ?? '';
    if (!/^multipart\/form-data|^application\/x-www-form-urlencoded/i.test(type)) {
      throw new AppError('invalid_request', 'Send the audio as multipart/form-data with a `file` field.', { param: 'file' });
    }
    const fields = (await c.req.parseBody({ all: true })) as Fields;
    const file = Array.isArray(fields.file) ? fields.file[0] : fields.file;
    if (!(file instanceof File)) throw new AppError('invalid_request', "Missing the 'file' field: the audio to transcribe.", { param: 'file' });
    const model = text(fields, 'model');
    if (model) c.set('model', model);
    const format = (text(fields, 'response_format') ?? 'json') as TranscriptFormat;
    if (!transcriptFormats.includes(format)) {
      throw new AppError('invalid_request', `Invalid 'response_format' '${format}': use one of ${transcriptFormats.join(', ')}.`, { param: 'response_format' });
    }
    const temperature = text(fields, 'temperature');
    if (temperature !== undefined && !(Number(temperature) >= 0 && Number(temperature) <= 1)) {
      throw new AppError('invalid_request', `Invalid 'temperature' '${temperature}': a number from 0 to 1.`, { param: 'temperature' });
    }
    const granularities = list(fields, 'timestamp_granularities');
    const unknown = granularities.find((g) => g !== 'word' && g !== 'segment');
    if (unknown) throw new AppError('invalid_request', `Invalid 'timestamp_granularities' '${unknown}': use word and/or segment.`, { param: 'timestamp_granularities' });
    const vad = text(fields, 'vad');
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes.length === 0) throw new AppError('invalid_request', `The uploaded file '${file.name}' is empty.`, { param: 'file', hint: 'Send a file with audio in it.' });
    const request = {
      model,
      input: { bytes, filename: file.name },
      language: task === 'translate' ? undefined : text(fields, 'language'),
      task,
      prompt: text(fields, 'prompt'),
      ...(vad === undefined ? {} : { vad: vad === 'true' ? true : vad === 'false' ? false : vad }),
    };
    const signal = requestSignal(c, deps);

    if (text(fields, 'stream') === 'true') {
      let first = true;
      return streamGeneration<TranscribeResult>({
        signal,
        start: (onToken, streamSignal) => deps.runtime.transcribe({ ...request, signal: streamSignal, onSegment: (segment) => onToken(segment.text) }),
        head: () => [],
        token: (piece) => {
          const delta = first ? piece : ` ${piece}`;
          first = false;
          return { type: 'transcript.text.delta', delta };
        },
        tail: (result) => [{ type: 'transcript.text.done', text: result.text, usage: usageBody(result) }],
      });
    }
    const result = await deps.runtime.transcribe({ ...request, signal });
    return respond(c, result, format, task, granularities);
  };

  return new Hono<ServerEnv>().post('/audio/transcriptions', limit, handle('transcribe')).post('/audio/translations', limit, handle('translate'));
};
