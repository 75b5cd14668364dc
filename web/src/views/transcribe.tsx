import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, request, sseData } from '../api.js';
import { useModelChoice } from './use-models.js';
import { startRecording, type Recording } from './transcribe-audio.js';
import { shortClock, toJson, toSrt, toText, toVtt, type Segment } from './transcribe-formats.js';
import './transcribe.css';

/*
 * The Transcribe view: a file dropped or picked, or a recording from the
 * microphone (a WAV made in the page), sent to /v1/audio/transcriptions
 * with stream=true so each segment shows as it is decoded. The streamed
 * events carry text only; when none carried times, the segments' times come
 * from a verbose_json answer for the same audio, asked for once the stream
 * is done. Copy as text; srt, vtt and json are built from the segments.
 */

/** A streamed event (transcript.text.segment is OpenAI's, with times: read when a daemon sends it). */
type TranscriptEvent =
  | { readonly type: 'transcript.text.delta'; readonly delta: string }
  | { readonly type: 'transcript.text.segment'; readonly id?: number | string; readonly start: number; readonly end: number; readonly text: string }
  | { readonly type: 'transcript.text.done'; readonly text: string; readonly usage?: { readonly seconds?: number } }
  | { readonly type?: undefined; readonly error: { readonly message: string; readonly hint?: string } };

interface Verbose {
  readonly duration?: number;
  readonly language?: string;
  readonly segments?: readonly { readonly id: number; readonly start: number; readonly end: number; readonly text: string }[];
}

const messageOf = (error: unknown): string =>
  error instanceof ApiError ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : error instanceof Error ? error.message : String(error);

const download = (text: string, name: string, type: string) => {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};

const baseName = (name: string) => name.replace(/\.[^./\\]+$/, '') || 'transcript';

type Phase = 'idle' | 'recording' | 'decoding' | 'timing';

export const TranscribeView = () => {
  const [language, setLanguage] = useState('');
  const [phase, setPhase] = useState<Phase>('idle');
  const [source, setSource] = useState<string | undefined>();
  const [segments, setSegments] = useState<Segment[]>([]);
  const [meta, setMeta] = useState<{ duration?: number; language?: string }>({});
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [dragging, setDragging] = useState(false);
  const [recorded, setRecorded] = useState(0);
  const abort = useRef<AbortController | undefined>(undefined);
  const recording = useRef<Recording | undefined>(undefined);
  const input = useRef<HTMLInputElement>(null);

  const { models, model, setModel } = useModelChoice((m) => m.kind === 'asr', (e) => setError(messageOf(e)));
  useEffect(
    () => () => {
      abort.current?.abort();
      recording.current?.cancel();
    },
    [],
  );
  useEffect(() => {
    if (phase !== 'recording') return;
    const timer = setInterval(() => setRecorded(recording.current?.seconds ?? 0), 200);
    return () => clearInterval(timer);
  }, [phase]);

  const form = (file: Blob, name: string, fields: Record<string, string>) => {
    const body = new FormData();
    body.append('file', file, name);
    if (model) body.append('model', model);
    if (language.trim()) body.append('language', language.trim());
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    return body;
  };

  const transcribe = async (file: Blob, name: string) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setError(undefined);
    setNotice(undefined);
    setSegments([]);
    setMeta({});
    setDone(false);
    setSource(name);
    setPhase('decoding');
    let list: Segment[] = [];
    const show = (next: Segment[]) => {
      list = next;
      setSegments(next);
    };
    try {
      const res = await request('/v1/audio/transcriptions', { method: 'POST', body: form(file, name, { stream: 'true' }), signal: controller.signal });
      let finished = false;
      for await (const data of sseData(res)) {
        const event = JSON.parse(data) as TranscriptEvent;
        if (!event.type) throw new ApiError(event.error.message, 500, undefined, event.error.hint);
        if (event.type === 'transcript.text.delta') {
          const text = event.delta.trim();
          if (text) show([...list, { id: list.length, text }]);
        } else if (event.type === 'transcript.text.segment') {
          const timed = { text: event.text.trim(), start: event.start, end: event.end };
          // A segment event after the deltas of the same text gives that segment its times; else it is a new one.
          const open = list.findIndex((s) => s.start === undefined);
          show(open >= 0 ? list.map((s, i) => (i === open ? { ...s, ...timed } : s)) : [...list, { id: list.length, ...timed }]);
        } else {
          finished = true;
          if (event.usage?.seconds !== undefined) setMeta((m) => ({ ...m, duration: event.usage!.seconds }));
          if (!list.length && event.text.trim()) show([{ id: 0, text: event.text.trim() }]);
        }
      }
      if (!finished) throw new Error('The transcription stream ended before its last event (see the daemon log).');
      setDone(true);
      if (!list.length) setNotice('No speech was heard in this audio.');
      else if (list.some((s) => s.start === undefined)) {
        // The stream said no times: ask for them once, for the same audio.
        setPhase('timing');
        const timed = (await (
          await request('/v1/audio/transcriptions', {
            method: 'POST',
            body: form(file, name, { response_format: 'verbose_json', 'timestamp_granularities[]': 'segment' }),
            signal: controller.signal,
          })
        ).json()) as Verbose;
        if (timed.segments?.length) show(timed.segments.map((s, i) => ({ id: i, text: s.text.trim(), start: s.start, end: s.end })));
        setMeta({ duration: timed.duration, language: timed.language });
      }
      setPhase('idle');
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      setError(messageOf(e));
      setPhase('idle');
    } finally {
      if (abort.current === controller) abort.current = undefined;
    }
  };

  const take = (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (!file) return;
    if (!file.size) {
      setError(`'${file.name}' is empty: pick a file with audio in it.`);
      return;
    }
    void transcribe(file, file.name);
  };

  const record = async () => {
    if (phase === 'recording') {
      const rec = recording.current;
      recording.current = undefined;
      if (!rec) return;
      const seconds = rec.seconds;
      const wav = await rec.stop();
      if (seconds < 0.2) {
        setPhase('idle');
        setError('The recording is too short: press Record, speak, then press Stop.');
        return;
      }
      void transcribe(wav, `recording-${new Date().toISOString().replace(/[:.]/g, '-')}.wav`);
      return;
    }
    setError(undefined);
    setNotice(undefined);
    try {
      recording.current = await startRecording();
      setRecorded(0);
      setPhase('recording');
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const busy = phase === 'decoding' || phase === 'timing';
  const text = toText(segments);
  const base = baseName(source ?? 'transcript');
  return (
    <section aria-labelledby="transcribe-title" class="transcribe">
      <h2 id="transcribe-title">Transcribe</h2>
      {models && !models.length && <p class="muted">No speech-to-text model is installed. Pull one in the Models view.</p>}
      <div class="row">
        <label>
          Model
          <select aria-label="Model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} disabled={!models?.length}>
            {(models ?? []).map((m) => (
              <option key={m.name} value={m.name}>
                {m.languages?.length ? `${m.name} (${m.languages.join(', ')})` : m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Language
          <input aria-label="Language" value={language} size={8} placeholder="auto" onInput={(e) => setLanguage((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <div
        class={`transcribe-drop${dragging ? ' transcribe-dragging' : ''}`}
        data-testid="transcribe-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          take(e.dataTransfer?.files);
        }}
      >
        <p>Drop an audio file here (wav, mp3, flac, ogg; others need ffmpeg on the daemon's machine), or</p>
        <div class="row transcribe-actions">
          <label class="transcribe-pick">
            <span>Choose a file</span>
            <input
              ref={input}
              type="file"
              accept="audio/*,video/*,.wav,.mp3,.flac,.ogg,.opus,.m4a,.webm"
              aria-label="Audio file"
              onChange={(e) => {
                take((e.target as HTMLInputElement).files);
                (e.target as HTMLInputElement).value = '';
              }}
              disabled={busy || phase === 'recording'}
            />
          </label>
          <button type="button" class={phase === 'recording' ? 'primary' : ''} onClick={() => void record()} disabled={busy}>
            {phase === 'recording' ? `Stop recording (${recorded.toFixed(1)} s)` : 'Record'}
          </button>
          {busy && (
            <button type="button" onClick={() => {
              abort.current?.abort();
              setPhase('idle');
            }}>
              Cancel
            </button>
          )}
        </div>
      </div>
      {error && (
        <p class="error transcribe-error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="muted">{notice}</p>}
      {source && (
        <div class="transcribe-result" aria-busy={busy}>
          <p class="muted" aria-live="polite">
            {source}
            {phase === 'decoding' ? ': decoding…' : phase === 'timing' ? ': reading the segments’ times…' : done ? `: ${segments.length} segment${segments.length === 1 ? '' : 's'}${meta.duration ? `, ${meta.duration.toFixed(1)} s of audio` : ''}` : ''}
          </p>
          <ol class="transcribe-segments" data-testid="transcribe-segments">
            {segments.map((s) => (
              <li key={s.id}>
                <span class="transcribe-time">{s.start !== undefined ? `${shortClock(s.start)} – ${shortClock(s.end ?? s.start)}` : '…'}</span>
                <span class="transcribe-text">{s.text}</span>
              </li>
            ))}
          </ol>
          {done && segments.length > 0 && (
            <div class="row">
              <button type="button" onClick={() => void navigator.clipboard?.writeText(text).then(() => setNotice('Copied the text.'), () => setNotice('The browser refused the clipboard.'))}>
                Copy text
              </button>
              <button type="button" disabled={busy} onClick={() => download(toSrt(segments), `${base}.srt`, 'application/x-subrip')}>
                Download SRT
              </button>
              <button type="button" disabled={busy} onClick={() => download(toVtt(segments), `${base}.vtt`, 'text/vtt')}>
                Download VTT
              </button>
              <button type="button" disabled={busy} onClick={() => download(toJson(segments, { model, ...meta }), `${base}.json`, 'application/json')}>
                Download JSON
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
};
