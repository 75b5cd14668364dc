import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { AppError, isAbortError } from '../errors.js';
import { fromErrorBody } from '../api/openai/errors.js';
import { toTranscriptionForm } from '../api/openai/transcription-request.js';
import { fromTranscriptionVerbose, MODEL_HEADER } from '../api/openai/transcription-response.js';
import type { AudioInput, TranscribeRequest, TranscribeResult } from '../types/transcript.js';

/** Where and how RemoteRuntime reaches the daemon. */
export interface RemoteTarget {
  readonly base: string;
  readonly apiKey?: string;
  readonly fetch: typeof fetch;
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
  const form = toTranscriptionForm(request, await toBlob(request.input));
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
    // A fetch of murmur's own (the router's, to an upstream) says itself what failed.
    if (error instanceof AppError) throw error;
    throw new AppError('daemon_unreachable', `No murmur daemon answers at ${target.base}.`, { hint: 'Start one with `murmur serve`, or set MURMUR_HOST.', cause: error });
  }
  if (!res.ok) throw fromErrorBody(res.status, await res.json().catch(() => undefined));
  const body = fromTranscriptionVerbose((await res.json()) as object);
  for (const segment of body.segments) request.onSegment?.(segment);
  const totalMs = performance.now() - started;
  return {
    ...body,
    model: res.headers.get(MODEL_HEADER) ?? request.model ?? '',
    timings: { totalMs: Math.round(totalMs), realTimeFactor: body.duration > 0 ? totalMs / 1000 / body.duration : 0 },
  };
};
