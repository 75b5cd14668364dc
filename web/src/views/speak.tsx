import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, postJson } from '../api.js';
import { useModelChoice } from './use-models.js';
import { createPcmPlayer, type PcmPlayer } from './speak-player.js';
import './speak.css';

/*
 * The Speak view: text, a voice model and voice (with the catalog's
 * languages), speed and format. "Speak" streams raw pcm from
 * /v1/audio/speech and plays it through WebAudio as it comes; then the
 * chosen format is asked for whole, for the <audio> element and the
 * download link. The voices come from the installed models' list; a model
 * that lists none there has its voices asked for (/v1/audio/voices) only
 * once it has spoken, because asking loads it.
 */

const FORMATS = ['wav', 'mp3', 'opus', 'flac'] as const;
type Format = (typeof FORMATS)[number];
const MIME: Record<Format, string> = { wav: 'audio/wav', mp3: 'audio/mpeg', opus: 'audio/ogg', flac: 'audio/flac' };

/** GET /v1/audio/voices, as the page reads it. */
interface VoiceLists {
  readonly data: readonly { readonly model: string; readonly default_voice: string | null; readonly voices: readonly { readonly name: string; readonly language?: string; readonly gender?: string }[] }[];
}

const messageOf = (error: unknown): string =>
  error instanceof ApiError ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : error instanceof Error ? error.message : String(error);

interface Result {
  readonly url: string;
  readonly name: string;
  readonly format: Format;
  readonly bytes: number;
}

export const SpeakView = () => {
  const [voices, setVoices] = useState<VoiceLists['data']>([]);
  const [voice, setVoice] = useState('');
  const [speed, setSpeed] = useState(1);
  const [format, setFormat] = useState<Format>('wav');
  const [text, setText] = useState('');
  const [phase, setPhase] = useState<'idle' | 'streaming' | 'encoding'>('idle');
  const [error, setError] = useState<string | undefined>();
  const [streamed, setStreamed] = useState<number | undefined>();
  const [result, setResult] = useState<Result | undefined>();
  const [duration, setDuration] = useState<number | undefined>();
  const abort = useRef<AbortController | undefined>(undefined);
  const player = useRef<PcmPlayer | undefined>(undefined);

  const { models, model, setModel } = useModelChoice((m) => m.kind === 'tts', (e) => setError(messageOf(e)));
  useEffect(
    () => () => {
      abort.current?.abort();
      player.current?.stop();
    },
    [],
  );
  // The object URL of the last file lives as long as it is shown.
  useEffect(() => () => void (result && URL.revokeObjectURL(result.url)), [result]);

  const info = models?.find((m) => m.name === model);
  const list = voices.find((v) => v.model === model);
  const voiceNames = info?.voices?.length ? info.voices : (list?.voices ?? []);
  useEffect(() => setVoice(info?.defaultVoice ?? list?.default_voice ?? ''), [model, info?.defaultVoice, list?.default_voice]);

  /** The voices of `name`, which has just spoken (so is loaded: asking loads nothing more), when the models' list names none. */
  const learnVoices = (name: string, signal: AbortSignal) => {
    const known = models?.find((m) => m.name === name);
    if (known?.voices?.length || voices.some((v) => v.model === name)) return;
    getJson<VoiceLists>(`/v1/audio/voices?model=${encodeURIComponent(name)}`, signal)
      .then((lists) => setVoices((old) => [...old.filter((v) => v.model !== name), ...lists.data.filter((v) => v.model === name)]))
      .catch(() => undefined); // the picker keeps the default voice
  };

  const body = (responseFormat: string) => ({
    model,
    input: text,
    ...(voice ? { voice } : {}),
    ...(speed !== 1 ? { speed } : {}),
    response_format: responseFormat,
  });

  const stop = () => {
    abort.current?.abort();
    player.current?.stop();
    player.current = undefined;
    setPhase('idle');
  };

  const speak = async () => {
    stop();
    setError(undefined);
    setResult(undefined);
    setDuration(undefined);
    setStreamed(0);
    const controller = new AbortController();
    abort.current = controller;
    setPhase('streaming');
    try {
      const res = await postJson('/v1/audio/speech', { ...body('pcm'), stream_format: 'audio' }, controller.signal);
      const rate = Number(res.headers.get('X-Sample-Rate')) || 24_000;
      const out = createPcmPlayer(rate);
      player.current = out;
      const reader = res.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out.push(value);
        setStreamed(out.seconds);
      }
      setPhase('encoding');
      const file = await postJson('/v1/audio/speech', body(format), controller.signal);
      const blob = new Blob([await file.arrayBuffer()], { type: MIME[format] });
      setResult({ url: URL.createObjectURL(blob), name: `speech.${format}`, format, bytes: blob.size });
      setPhase('idle');
      learnVoices(model, controller.signal);
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      // A stream broken off mid-way is a TypeError from the reader: say what it means.
      setError(e instanceof TypeError ? 'The audio stream broke off before the end (see the daemon log).' : messageOf(e));
      setPhase('idle');
    } finally {
      if (abort.current === controller) abort.current = undefined;
    }
  };

  const readDuration = (e: Event) => setDuration((e.target as HTMLAudioElement).duration);

  const busy = phase !== 'idle';
  return (
    <section aria-labelledby="speak-title" class="speak">
      <h2 id="speak-title">Speak</h2>
      {models && !models.length && <p class="muted">No voice model is installed. Pull one in the Models view.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void speak();
        }}
      >
        <label class="speak-text">
          Text
          <textarea rows={5} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} placeholder="Type something to say…" />
        </label>
        <div class="row">
          <label>
            Voice model
            <select aria-label="Voice model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} disabled={!models?.length}>
              {(models ?? []).map((m) => (
                <option key={m.name} value={m.name}>
                  {m.languages?.length ? `${m.name} (${m.languages.join(', ')})` : m.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Voice
            <select aria-label="Voice" value={voice} onChange={(e) => setVoice((e.target as HTMLSelectElement).value)} disabled={!voiceNames.length}>
              {!voiceNames.length && <option value="">{model ? 'the model’s default' : ''}</option>}
              {voiceNames.map((v) => (
                <option key={v.name} value={v.name}>
                  {v.language ? `${v.name} (${v.language})` : v.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Speed {speed.toFixed(2)}×
            <input type="range" min={0.5} max={2} step={0.05} value={speed} onInput={(e) => setSpeed(Number((e.target as HTMLInputElement).value))} />
          </label>
          <label>
            Format
            <select aria-label="Format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value as Format)}>
              {FORMATS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div class="row">
          <button type="submit" class="primary" disabled={busy || !text.trim() || !model}>
            Speak
          </button>
          {busy && (
            <button type="button" onClick={stop}>
              Stop
            </button>
          )}
          <span class="muted" aria-live="polite" data-testid="speak-progress">
            {phase === 'streaming' ? `Playing as it streams: ${(streamed ?? 0).toFixed(2)} s received` : phase === 'encoding' ? `Streamed ${(streamed ?? 0).toFixed(2)} s; encoding the ${format} file…` : streamed ? `Streamed ${streamed.toFixed(2)} s of audio.` : ''}
          </span>
        </div>
      </form>
      {error && (
        <p class="error speak-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div class="speak-result">
          {/* WebKitGTK (GStreamer) says 0 for an mp3's duration at loadedmetadata and durationchange, and has it by the next progress event, which fires no durationchange. */}
          <audio controls src={result.url} onLoadedMetadata={readDuration} onDurationChange={readDuration} onProgress={readDuration} />
          <a href={result.url} download={result.name}>
            Download {result.format} ({(result.bytes / 1000).toFixed(1)} kB)
          </a>
          {duration !== undefined && Number.isFinite(duration) && duration > 0 && <span class="muted">{duration.toFixed(2)} s</span>}
        </div>
      )}
    </section>
  );
};
