import type { TranscriptSegment } from '../types/transcript.js';

/*
 * Subtitle formats of a transcript. SubRip (.srt): numbered cues from 1,
 * `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line between cues. WebVTT (.vtt):
 * a `WEBVTT` header line then a blank line, cues with `HH:MM:SS.mmm`.
 * Both end with a newline. Text lines are kept as given, except that blank
 * lines inside a cue (which would end it early) are dropped, and in VTT a
 * `-->` (which would read as a timing line) is written `->`.
 */

/** Seconds as `HH:MM:SS` + separator + `mmm` (hours unbounded, rounded to the millisecond). */
export const formatTimestamp = (seconds: number, separator: ',' | '.'): string => {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
};

const cueText = (text: string): string =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');

/** One SubRip cue, numbered `index` (from 1), ending with a newline; cues are separated by a blank line. */
export const srtCue = (segment: TranscriptSegment, index: number): string =>
  `${index}\n${formatTimestamp(segment.start, ',')} --> ${formatTimestamp(segment.end, ',')}\n${cueText(segment.text)}\n`;

/** What a WebVTT document starts with, before its first cue. */
export const VTT_HEADER = 'WEBVTT\n\n';

/** One WebVTT cue, ending with a newline; cues are separated by a blank line. */
export const vttCue = (segment: TranscriptSegment): string =>
  `${formatTimestamp(segment.start, '.')} --> ${formatTimestamp(segment.end, '.')}\n${cueText(segment.text).replace(/-->/g, '->')}\n`;

/** A transcript's segments as a SubRip (.srt) document. */
export const toSrt = (segments: readonly TranscriptSegment[]): string => segments.map((s, i) => srtCue(s, i + 1)).join('\n');

/** A transcript's segments as a WebVTT (.vtt) document. */
export const toVtt = (segments: readonly TranscriptSegment[]): string => `${VTT_HEADER}${segments.map(vttCue).join('\n')}`;

/** The formats `transcribe --format` and `response_format` take. */
export const transcriptFormats = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type TranscriptFormat = (typeof transcriptFormats)[number];

/** The file extension for a format's output. */
export const extensionFor = (format: TranscriptFormat): string => ({ text: 'txt', json: 'json', verbose_json: 'json', srt: 'srt', vtt: 'vtt' })[format];
