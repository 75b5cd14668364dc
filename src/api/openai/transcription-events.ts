import type { TranscribeResult } from '../../types/transcript.js';
import { toTranscriptionUsage, type TranscriptionUsage } from './transcription-response.js';

/*
 * The server-sent events of a transcription asked for with `stream=true`:
 * for each segment as it is decoded, `transcript.text.delta` and then
 * `transcript.text.segment` (its id, start and end in seconds, and text, as
 * OpenAI's diarizing models send it), then `transcript.text.done` with the
 * whole text and usage.
 */

export interface TranscriptTextDelta {
  readonly type: 'transcript.text.delta';
  readonly delta: string;
}

export interface TranscriptTextSegment {
  readonly type: 'transcript.text.segment';
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface TranscriptTextDone {
  readonly type: 'transcript.text.done';
  readonly text: string;
  readonly usage: TranscriptionUsage;
}

/** Deltas for one stream's segments: each after the first starts with the space that joins it to the text before. */
export const createTranscriptDeltas = (): ((segmentText: string) => TranscriptTextDelta) => {
  let first = true;
  return (segmentText) => {
    const delta = first ? segmentText : ` ${segmentText}`;
    first = false;
    return { type: 'transcript.text.delta', delta };
  };
};

/** A segment's events: its delta, then the segment with its times (seconds). */
export const createSegmentEvents = (): ((segment: { readonly text: string; readonly start: number; readonly end: number }) => [TranscriptTextDelta, TranscriptTextSegment]) => {
  const delta = createTranscriptDeltas();
  let index = 0;
  return (segment) => [delta(segment.text), { type: 'transcript.text.segment', id: `seg_${index++}`, start: segment.start, end: segment.end, text: segment.text }];
};

export const toTranscriptDone = (result: TranscribeResult): TranscriptTextDone => ({ type: 'transcript.text.done', text: result.text, usage: toTranscriptionUsage(result) });
