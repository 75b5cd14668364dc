import { toSrt, toVtt, type TranscriptFormat } from '../../text/subtitles.js';
import type { TranscribeResult, TranscriptSegment, TranscriptWord } from '../../types/transcript.js';
import type { TranscriptionTask } from './transcription-request.js';
import type { DeepPartial } from './wire.js';

/*
 * A transcript in OpenAI's response formats, both ways: the json and
 * verbose_json bodies, the text documents (text, srt, vtt), the events of a
 * streamed transcription, and a verbose_json body read back into a core
 * result (RemoteRuntime). `murmur transcribe --format` writes the same
 * documents as the daemon answers.
 */

/** The response header naming the model that transcribed (murmur's; OpenAI's bodies carry no model). */
export const MODEL_HEADER = 'X-Murmur-Model';

/** OpenAI's duration-based usage. */
export interface TranscriptionUsage {
  readonly type: 'duration';
  readonly seconds: number;
}

/** OpenAI's verbose_json segment; the fields murmur cannot measure hold neutral values. */
export interface SegmentBody {
  readonly id: number;
  readonly seek: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokens: readonly number[];
  readonly temperature: number;
  readonly avg_logprob: number;
  readonly compression_ratio: number;
  readonly no_speech_prob: number;
}

export interface TranscriptionJson {
  readonly text: string;
  readonly usage: TranscriptionUsage;
}

export interface TranscriptionVerbose extends TranscriptionJson {
  readonly task: TranscriptionTask;
  readonly language: string;
  readonly duration: number;
  readonly segments?: readonly SegmentBody[];
  readonly words?: readonly TranscriptWord[];
}

export const toSegmentBody = (s: TranscriptSegment): SegmentBody => ({
  id: s.id,
  seek: Math.round(s.start * 100),
  start: s.start,
  end: s.end,
  text: s.text,
  tokens: [],
  temperature: 0,
  avg_logprob: 0,
  compression_ratio: 1,
  no_speech_prob: 0,
});

export const toTranscriptionUsage = (result: TranscribeResult): TranscriptionUsage => ({ type: 'duration', seconds: Math.ceil(result.duration) });

/** `json`: the text (and usage). */
export const toTranscriptionJson = (result: TranscribeResult): TranscriptionJson => ({ text: result.text, usage: toTranscriptionUsage(result) });

/**
 * `verbose_json`: task, language, duration, text, segments (unless only
 * word granularity is asked for) and words (when asked for and the model
 * gives word times).
 */
export const toTranscriptionVerbose = (result: TranscribeResult, task: TranscriptionTask = 'transcribe', granularities: readonly string[] = []): TranscriptionVerbose => {
  const words = result.segments.flatMap((s) => s.words ?? []);
  const wantSegments = granularities.length === 0 || granularities.includes('segment');
  return {
    task,
    language: result.language ?? 'unknown',
    duration: result.duration,
    text: result.text,
    ...(wantSegments ? { segments: result.segments.map(toSegmentBody) } : {}),
    ...(granularities.includes('word') && words.length ? { words } : {}),
    usage: toTranscriptionUsage(result),
  };
};

/** An answer: a JSON body, or a text document with its Content-Type (undefined: plain text). */
export type TranscriptionAnswer =
  | { readonly kind: 'json'; readonly body: TranscriptionJson | TranscriptionVerbose }
  | { readonly kind: 'text'; readonly body: string; readonly contentType?: string };

/** The daemon's answer in `format` (verbose_json with the granularities asked for). */
export const toTranscriptionAnswer = (result: TranscribeResult, format: TranscriptFormat, task: TranscriptionTask, granularities: readonly string[]): TranscriptionAnswer => {
  switch (format) {
    case 'text':
    case 'srt':
      return { kind: 'text', body: formatTranscript(result, format) };
    case 'vtt':
      return { kind: 'text', body: formatTranscript(result, format), contentType: 'text/vtt; charset=utf-8' };
    case 'verbose_json':
      return { kind: 'json', body: toTranscriptionVerbose(result, task, granularities) };
    default:
      return { kind: 'json', body: toTranscriptionJson(result) };
  }
};

/** The document for a format, as text (JSON formats pretty-printed when `indent` is given; verbose_json with segments and words). */
export const formatTranscript = (result: TranscribeResult, format: TranscriptFormat, options: { task?: TranscriptionTask; granularities?: readonly string[]; indent?: number } = {}): string => {
  switch (format) {
    case 'text':
      return `${result.text}\n`;
    case 'srt':
      return toSrt(result.segments);
    case 'vtt':
      return toVtt(result.segments);
    case 'verbose_json':
      return `${JSON.stringify(toTranscriptionVerbose(result, options.task, options.granularities ?? ['segment', 'word']), null, options.indent)}\n`;
    default:
      return `${JSON.stringify(toTranscriptionJson(result), null, options.indent)}\n`;
  }
};

/** A verbose_json body as a core result, less the model (see MODEL_HEADER) and the timings the caller measures; words go to the segments they start in. */
export const fromTranscriptionVerbose = (body: DeepPartial<TranscriptionVerbose>): Omit<TranscribeResult, 'model' | 'timings'> => {
  const words = (body.words ?? []).map((w) => ({ word: w.word ?? '', start: w.start ?? 0, end: w.end ?? 0 }));
  const segments: TranscriptSegment[] = (body.segments ?? []).map((s, i) => {
    const start = s.start ?? 0;
    const end = s.end ?? start;
    const inside = words.filter((w) => w.start >= start && w.start < end);
    return { id: s.id ?? i, start, end, text: (s.text ?? '').trim(), ...(inside.length ? { words: inside } : {}) };
  });
  return {
    text: body.text ?? '',
    ...(body.language && body.language !== 'unknown' ? { language: body.language } : {}),
    duration: body.duration ?? segments.at(-1)?.end ?? 0,
    segments,
  };
};
