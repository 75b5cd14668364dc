import type { TranscribeResult, TranscriptSegment } from '../types/transcript.js';
import { toSrt, toVtt, type TranscriptFormat } from './subtitles.js';

/*
 * A transcript in OpenAI's response formats, shared by the daemon's
 * /v1/audio/transcriptions and `murmur transcribe --format`.
 */

/** OpenAI's verbose_json segment; the fields murmur cannot measure hold neutral values. */
export const segmentBody = (s: TranscriptSegment) => ({
  id: s.id,
  seek: Math.round(s.start * 100),
  start: s.start,
  end: s.end,
  text: s.text,
  tokens: [] as number[],
  temperature: 0,
  avg_logprob: 0,
  compression_ratio: 1,
  no_speech_prob: 0,
});

/** OpenAI's duration-based usage. */
export const usageBody = (result: TranscribeResult) => ({ type: 'duration' as const, seconds: Math.ceil(result.duration) });

/** `json`: the text (and usage). */
export const jsonBody = (result: TranscribeResult) => ({ text: result.text, usage: usageBody(result) });

/**
 * `verbose_json`: task, language, duration, text, segments (unless only
 * word granularity is asked for) and words (when asked for and the model
 * gives word times).
 */
export const verboseBody = (result: TranscribeResult, task: 'transcribe' | 'translate' = 'transcribe', granularities: readonly string[] = []) => {
  const words = result.segments.flatMap((s) => s.words ?? []);
  const wantSegments = granularities.length === 0 || granularities.includes('segment');
  return {
    task,
    language: result.language ?? 'unknown',
    duration: result.duration,
    text: result.text,
    ...(wantSegments ? { segments: result.segments.map(segmentBody) } : {}),
    ...(granularities.includes('word') && words.length ? { words } : {}),
    usage: usageBody(result),
  };
};

/** The document for a format, as text (JSON formats pretty-printed when `indent` is given). */
export const formatTranscript = (result: TranscribeResult, format: TranscriptFormat, options: { task?: 'transcribe' | 'translate'; granularities?: readonly string[]; indent?: number } = {}): string => {
  switch (format) {
    case 'text':
      return `${result.text}\n`;
    case 'srt':
      return toSrt(result.segments);
    case 'vtt':
      return toVtt(result.segments);
    case 'verbose_json':
      return `${JSON.stringify(verboseBody(result, options.task, options.granularities ?? ['segment', 'word']), null, options.indent)}\n`;
    default:
      return `${JSON.stringify(jsonBody(result), null, options.indent)}\n`;
  }
};

/** The file extension for a format's output. */
export const extensionFor = (format: TranscriptFormat): string => ({ text: 'txt', json: 'json', verbose_json: 'json', srt: 'srt', vtt: 'vtt' })[format];
