import { AppError } from '../../errors.js';
import { transcriptFormats, type TranscriptFormat } from '../../text/subtitles.js';
import type { TranscribeRequest } from '../../types/transcript.js';

/*
 * The multipart form of `POST /v1/audio/transcriptions` and
 * `/translations`, both ways: its fields read into a core request and the
 * answer's format (the server's side), and the form for a core request
 * (RemoteRuntime). Fields: file, model, language, prompt, response_format,
 * timestamp_granularities[], temperature, stream, and murmur's `vad`
 * (true, false or a VAD model's name) and `words_optional` (true: word
 * times where the model gives them, instead of a 400 where it does not).
 */

/** A file part of the form, as the server stored it (on disk, or in memory when small), under the name the client gave it. */
export type FormFile = {
  /** The part's filename (the client's, for messages); may be empty. */
  readonly name: string;
  /** Bytes. */
  readonly size: number;
} & ({ readonly path: string } | { readonly bytes: Uint8Array });

/** A parsed form: each field's text or file, or a list of them when it came more than once. */
export type FormFields = Record<string, string | FormFile | (string | FormFile)[]>;

const isFormFile = (value: unknown): value is FormFile =>
  typeof value === 'object' && value !== null && (typeof (value as { path?: unknown }).path === 'string' || (value as { bytes?: unknown }).bytes instanceof Uint8Array);

export type TranscriptionTask = 'transcribe' | 'translate';

/** What a transcription route does, read from the form. */
export interface TranscriptionPlan {
  /** The core request, without its callback and signal. */
  readonly request: Omit<TranscribeRequest, 'onSegment' | 'signal'>;
  readonly task: TranscriptionTask;
  readonly format: TranscriptFormat;
  /** `timestamp_granularities[]`: word and/or segment. */
  readonly granularities: readonly string[];
  /** `stream=true`: transcript.text.delta events, then transcript.text.done. */
  readonly stream: boolean;
}

/** Refuses a body that is not a form. */
export const assertTranscriptionForm = (contentType: string): void => {
  if (!/^multipart\/form-data|^application\/x-www-form-urlencoded/i.test(contentType)) {
    throw new AppError('invalid_request', 'Send the audio as multipart/form-data with a `file` field.', { param: 'file' });
  }
};

const text = (fields: FormFields, name: string): string | undefined => {
  const value = fields[name];
  const one = Array.isArray(value) ? value[0] : value;
  if (one === undefined) return undefined;
  if (typeof one !== 'string') throw new AppError('invalid_request', `'${name}' must be a text field, not a file.`, { param: name });
  return one.trim() || undefined;
};

const list = (fields: FormFields, name: string): string[] => {
  const value = fields[`${name}[]`] ?? fields[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
};

/** Reads and checks a transcription form whose upload is already on disk (the plan reads the audio from that file). */
export const fromTranscriptionForm = (fields: FormFields, task: TranscriptionTask): TranscriptionPlan => {
  const file = Array.isArray(fields.file) ? fields.file[0] : fields.file;
  if (!isFormFile(file)) throw new AppError('invalid_request', "Missing the 'file' field: the audio to transcribe.", { param: 'file' });
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
  const stream = text(fields, 'stream') === 'true';
  const words = granularities.includes('word');
  if (words && (format !== 'verbose_json' || stream)) {
    throw new AppError('invalid_request', "timestamp_granularities[]=word needs response_format verbose_json, not streamed: only that answer carries word times.", {
      param: 'timestamp_granularities',
      hint: 'Set response_format=verbose_json and leave stream out.',
    });
  }
  const vad = text(fields, 'vad');
  if (file.size === 0) throw new AppError('invalid_request', `The uploaded file '${file.name}' is empty.`, { param: 'file', hint: 'Send a file with audio in it.' });
  return {
    request: {
      model: text(fields, 'model'),
      input: 'bytes' in file ? { bytes: file.bytes, filename: file.name } : { path: file.path, filename: file.name },
      language: task === 'translate' ? undefined : text(fields, 'language'),
      task,
      prompt: text(fields, 'prompt'),
      ...(vad === undefined ? {} : { vad: vad === 'true' ? true : vad === 'false' ? false : vad }),
      ...(words && text(fields, 'words_optional') !== 'true' ? { requireWords: true } : {}),
    },
    task,
    format,
    granularities,
    stream,
  };
};

/** The model a form names, if any (read before the rest, so a refused request is still logged under it). */
export const transcriptionModel = (fields: FormFields): string | undefined => {
  try {
    return text(fields, 'model');
  } catch {
    return undefined;
  }
};

/**
 * The form for a core request, with the audio as `file`. It asks for
 * verbose_json with segment and word times, so the reader can rebuild the
 * segments (see fromVerboseTranscription).
 */
export const toTranscriptionForm = (request: Omit<TranscribeRequest, 'input'>, file: { readonly blob: Blob; readonly name: string }): FormData => {
  const form = new FormData();
  form.append('file', file.blob, file.name);
  if (request.model) form.append('model', request.model);
  if (request.language) form.append('language', request.language);
  if (request.prompt) form.append('prompt', request.prompt);
  if (request.vad !== undefined) form.append('vad', String(request.vad));
  form.append('response_format', 'verbose_json');
  form.append('timestamp_granularities[]', 'segment');
  form.append('timestamp_granularities[]', 'word');
  // Word times where the model has them; a model without them still transcribes.
  form.append('words_optional', 'true');
  return form;
};
