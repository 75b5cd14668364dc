import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, apiKey, getJson, onUnauthorized, setApiKey } from './api.js';
import { ChatView } from './views/chat.js';
import { ModelsView } from './views/models.js';
import { SpeakView } from './views/speak.js';
import { StatusView } from './views/status.js';
import { TalkView } from './views/talk.js';
import { TranscribeView } from './views/transcribe.js';
import './styles.css';

/*
 * The page's shell: a tab per view (the hash names it, so a reload or a
 * link keeps the view), the daemon's version and address, and the API key
 * asked for once when the daemon wants one.
 */

const VIEWS = [
  { id: 'chat', label: 'Chat', view: ChatView },
  { id: 'talk', label: 'Talk', view: TalkView },
  { id: 'speak', label: 'Speak', view: SpeakView },
  { id: 'transcribe', label: 'Transcribe', view: TranscribeView },
  { id: 'models', label: 'Models', view: ModelsView },
  { id: 'status', label: 'Status', view: StatusView },
] as const;

type ViewId = (typeof VIEWS)[number]['id'];

const fromHash = (): ViewId => {
  const id = location.hash.slice(1);
  return (VIEWS.find((v) => v.id === id)?.id ?? 'chat') as ViewId;
};

interface Health {
  readonly status: string;
  readonly version?: string;
}

const KeyPrompt = ({ wrong, onDone }: { wrong: boolean; onDone: () => void }) => {
  const [key, setKey] = useState('');
  return (
    <form
      class="key-prompt"
      aria-labelledby="key-title"
      onSubmit={(event) => {
        event.preventDefault();
        setApiKey(key.trim());
        onDone();
      }}
    >
      <h2 id="key-title">This daemon wants an API key</h2>
      <p>{wrong ? 'The key was refused. ' : ''}Enter the key it was started with (its --api-key, or MURMUR_API_KEY). The page keeps it in this browser.</p>
      <input type="password" autocomplete="current-password" aria-label="API key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} autofocus />
      <button type="submit" disabled={!key.trim()}>
        Use this key
      </button>
    </form>
  );
};

const App = () => {
  const [view, setView] = useState<ViewId>(fromHash());
  const [health, setHealth] = useState<Health | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [asking, setAsking] = useState(false);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const onHash = () => setView(fromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => onUnauthorized(() => setAsking(true)), []);
  useEffect(() => {
    // /health needs no key; /v1/models does, so a daemon that wants one is asked at once (a 401 opens the prompt).
    getJson<Health>('/health')
      .then(async (h) => {
        setHealth(h);
        setProblem(undefined);
        await getJson('/v1/models').catch((error: unknown) => {
          if (!(error instanceof ApiError && error.status === 401)) throw error;
        });
      })
      .catch((error: unknown) => setProblem(error instanceof ApiError ? error.message : String(error)));
  }, [generation]);

  const Current = VIEWS.find((v) => v.id === view)!.view;
  return (
    <>
      <header>
        <h1>murmur</h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a key={v.id} href={`#${v.id}`} aria-current={v.id === view ? 'page' : undefined}>
              {v.label}
            </a>
          ))}
        </nav>
        <span class="daemon" title="The daemon this page talks to">
          {health ? `${location.host} · ${health.version ? `v${health.version}` : ''} · ${health.status}` : location.host}
        </span>
      </header>
      {problem && (
        <p class="error" role="alert">
          {problem} <button onClick={() => setGeneration((g) => g + 1)}>Retry</button>
        </p>
      )}
      {asking ? (
        <KeyPrompt
          wrong={apiKey() !== ''}
          onDone={() => {
            setAsking(false);
            setGeneration((g) => g + 1);
          }}
        />
      ) : (
        <main key={generation}>
          <Current />
        </main>
      )}
    </>
  );
};

const root = document.getElementById('app')!;
// The "Loading…" line is for the moment before this script runs: Preact renders beside what it finds, so it goes first.
root.replaceChildren();
render(<App />, root);
