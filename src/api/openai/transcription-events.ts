import type { TranscribeResult } from '../../types/transcript.js';
import { toTranscriptionUsage, type TranscriptionUsage } from './transcription-response.js';

/*
 * The server-sent events of a transcription asked for with `stream=true`:
 * `transcript.text.delta` for each segment as it is decoded, then
 * `transcript.text.done` with the whole text and usage.
 */

export interface TranscriptTextDelta {
  readonly type: 'transcript.text.delta';
  readonly delta: string;
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

export const toTranscriptDone = (result: TranscribeResult): TranscriptTextDone => ({ type: 'transcript.text.done', text: result.text, usage: toTranscriptionUsage(result) });
