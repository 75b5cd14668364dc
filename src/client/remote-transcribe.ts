import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { AppError, isAbortError } from '../errors.js';
import type { AudioInput, TranscribeRequest, TranscribeResult, TranscriptSegment } from '../types/transcript.js';
import { fromErrorBody } from '../server/errors.js';

/** Where and how RemoteRuntime reaches the daemon. */
export interface RemoteTarget {
  readonly base: string;
  readonly apiKey?: string;
  readonly fetch: typeof fetch;
}

interface VerboseBody {
  readonly text: string;
  readonly language?: string;
  readonly duration?: number;
  readonly segments?: { id: number; start: number; end: number; text: string }[];
  readonly words?: { word: string; start: number; end: number }[];
}

/** The upload: a file on disk is sent from disk (not read into memory first); a stream is gathered. */
const toBlob = async (input: AudioInput): Promise<{ blob: Blob; name: string }> => {
  if ('path' in input) return { blob: await openAsBlob(input.path), name: basename(input.path) };
  if ('bytes' in input) return { blob: new Blob([input.bytes]), name: input.filename ?? 'audio' };
  const parts: Uint8Array[] = [];
  for await (const part of input.stream) parts.push(part);
  return { blob: new Blob(parts), name: input.filename ?? 'audio' };
};

/**
 * Transcribes through a daemon's `POST /v1/audio/transcriptions` (or
 * `/translations` for task translate) as verbose_json, so segments keep their
 * times; `onSegment` is called for each once the answer arrives. The daemon
 * decides VAD unless `vad` is given (murmur's own field).
 */
export const remoteTranscribe = async (target: RemoteTarget, request: TranscribeRequest): Promise<TranscribeResult> => {
  const started = performance.now();
  const { blob, name } = await toBlob(request.input);
  const form = new FormData();
  form.append('file', blob, name);
  if (request.model) form.append('model', request.model);
  if (request.language) form.append('language', request.language);
  if (request.prompt) form.append('prompt', request.prompt);
  if (request.vad !== undefined) form.append('vad', String(request.vad));
  form.append('response_format', 'verbose_json');
  form.append('timestamp_granularities[]', 'segment');
  form.append('timestamp_granularities[]', 'word');
  const path = request.task === 'translate' ? '/v1/audio/translations' : '/v1/audio/transcriptions';
  let res: Response;
  try {
    res = await target.fetch(`${target.base}${path}`, {
      method: 'POST',
      body: form,
      signal: request.signal,
      headers: target.apiKey ? { Authorization: `Bearer ${target.apiKey}` } : {},
    });
  } catch (error) {
    if (isAbortError(error) || request.signal?.aborted) throw error;
    throw new AppError('daemon_unreachable', `No murmur daemon answers at ${target.base}.`, { hint: 'Start one with `murmur serve`, or set MURMUR_HOST.', cause: error });
  }
  if (!res.ok) throw fromErrorBody(res.status, await res.json().catch(() => undefined));
  const body = (await res.json()) as VerboseBody;
  const words = body.words ?? [];
  const segments: TranscriptSegment[] = (body.segments ?? []).map((s) => {
    const inside = words.filter((w) => w.start >= s.start && w.start < s.end);
    return { id: s.id, start: s.start, end: s.end, text: s.text.trim(), ...(inside.length ? { words: inside } : {}) };
  });
  for (const segment of segments) request.onSegment?.(segment);
  const totalMs = performance.now() - started;
  const duration = body.duration ?? segments.at(-1)?.end ?? 0;
  return {
    model: res.headers.get('X-Murmur-Model') ?? request.model ?? '',
    text: body.text,
    ...(body.language && body.language !== 'unknown' ? { language: body.language } : {}),
    duration,
    segments,
    timings: { totalMs: Math.round(totalMs), realTimeFactor: duration > 0 ? totalMs / 1000 / duration : 0 },
  };
};
