import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, formatBytes, getJson, listModels, postJson, request, type ModelInfo } from '../api.js';
import { cancelPull, dismissPull, fractionOf, onPull, pullState, resumePull, startPull, type PullState } from './models-pull.js';
import { newestOnly } from '../newest-only.js';
import './models.css';

/*
 * The Models view: the installed models (joined with what is loaded now),
 * load / unload / remove; the catalog with a pull button and a live progress
 * bar (the pull survives a tab switch, and a reload starts it again).
 * Everything through the public admin API under /murmur/v1.
 */

/** A loaded model as /murmur/v1/ps lists it. */
export interface LoadedInfo {
  readonly name: string;
  readonly kind: string;
  readonly memoryBytes: number;
  readonly vramBytes?: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly contextSize?: number;
  readonly expiresAt: string | null;
}

/** A catalog entry as /murmur/v1/catalog lists it. */
interface CatalogRow {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly kind: string;
  readonly size: number;
  readonly description: string;
  readonly languages: readonly string[];
  readonly installed: boolean;
}

export const listLoaded = async (signal?: AbortSignal): Promise<LoadedInfo[]> => (await getJson<{ models: LoadedInfo[] }>('/murmur/v1/ps', signal)).models;

const messageOf = (error: unknown): string => (error instanceof ApiError ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : String((error as Error)?.message ?? error));

/** "in 4m 10s", "kept loaded", "now". */
const expiry = (at: string | null, now: number): string => {
  if (at === null) return 'kept loaded';
  const s = Math.round((Date.parse(at) - now) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m ${s % 60}s`;
  return `in ${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};

const usePull = (): PullState | undefined => {
  const [state, setState] = useState(pullState());
  useEffect(() => onPull(setState), []);
  return state;
};

const PullProgress = ({ state }: { state: PullState }) => {
  const fraction = fractionOf(state);
  const percent = fraction === undefined ? undefined : Math.floor(fraction * 100);
  const ended = state.phase === 'installed' || state.phase === 'failed' || state.phase === 'cancelled';
  const words =
    state.phase === 'installed'
      ? `${state.installed ?? state.ref} installed`
      : state.phase === 'failed'
        ? `The pull of ${state.ref} failed: ${state.note ?? ''}${state.hint ? ` ${state.hint}` : ''}`
        : state.phase === 'cancelled'
          ? `The pull of ${state.ref} was cancelled.`
          : state.phase === 'waiting'
            ? `Waiting: ${state.note ?? 'another pull of it is under way'}`
            : state.phase === 'downloading'
              ? `${state.file ?? ''} ${formatBytes(state.completed ?? 0)}${state.total ? ` of ${formatBytes(state.total)}` : ''}`
              : `${state.phase}${state.file ? ` ${state.file}` : ''}…`;
  return (
    <div class={`models-pull models-pull-${state.phase}`} role="status" aria-live="polite">
      <div class="models-pull-head">
        <strong>
          {state.resumed && !ended ? 'Resuming ' : 'Pulling '}
          {state.ref}
        </strong>
        {percent !== undefined && <span class="models-pull-percent">{percent}%</span>}
      </div>
      {state.phase !== 'failed' && state.phase !== 'cancelled' && (
        <progress aria-label={`Pull of ${state.ref}`} max={100} value={percent ?? undefined} />
      )}
      <p class={state.phase === 'failed' ? 'models-pull-note error' : 'models-pull-note muted'}>{words}</p>
      {ended ? (
        <button type="button" onClick={dismissPull}>
          Dismiss
        </button>
      ) : (
        <button type="button" onClick={cancelPull}>
          Cancel pull
        </button>
      )}
    </div>
  );
};

export const ModelsView = () => {
  const [installed, setInstalled] = useState<ModelInfo[] | undefined>();
  const [loaded, setLoaded] = useState<LoadedInfo[]>([]);
  const [catalog, setCatalog] = useState<CatalogRow[] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState<Record<string, string>>({});
  const [rowError, setRowError] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState<string | undefined>();
  const [filter, setFilter] = useState('');
  const [kind, setKind] = useState('');
  const [ref, setRef] = useState('');
  const [now, setNow] = useState(Date.now());
  const pull = usePull();
  // The background poll and the look-up after an action both ask what is loaded: only the newest answer shows.
  const askLoaded = useRef(
    newestOnly((ps: LoadedInfo[]) => {
      setLoaded(ps);
      setNow(Date.now());
    }),
  ).current;

  const refresh = async () => {
    try {
      const [models, , entries] = await Promise.all([listModels(), askLoaded(listLoaded), getJson<{ models: CatalogRow[] }>('/murmur/v1/catalog').then((r) => r.models)]);
      setInstalled(models);
      setCatalog(entries);
      setProblem(undefined);
    } catch (error) {
      setProblem(messageOf(error));
    }
  };

  useEffect(() => {
    void refresh();
    resumePull();
    // What is loaded changes under the page (requests load models, keep-alives expire): ps again every few seconds, while shown.
    const poll = setInterval(() => askLoaded(listLoaded).catch(() => undefined), 3000);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(poll);
      clearInterval(tick);
    };
  }, []);
  // An installed pull shows up in both lists.
  useEffect(() => {
    if (pull?.phase === 'installed') void refresh();
  }, [pull?.phase]);

  // After an action the row's buttons change (Load becomes Unload): focus goes back to the row's first one, not to the top of the page.
  const [refocus, setRefocus] = useState<string | undefined>();
  useEffect(() => {
    if (!refocus) return;
    document.querySelector<HTMLButtonElement>(`tr[data-model="${CSS.escape(refocus)}"] .models-actions button`)?.focus();
    setRefocus(undefined);
  });
  const act = async (name: string, label: string, run: () => Promise<unknown>) => {
    setBusy((b) => ({ ...b, [name]: label }));
    setRowError(({ [name]: _, ...rest }) => rest);
    try {
      await run();
    } catch (error) {
      setRowError((e) => ({ ...e, [name]: messageOf(error) }));
    } finally {
      // The row says what it is doing until the new state is known: cleared first, it showed the old buttons for a moment.
      await refresh();
      setBusy(({ [name]: _, ...rest }) => rest);
      setRefocus(name);
    }
  };
  const load = (name: string) => act(name, 'Loading…', () => postJson('/murmur/v1/load', { model: name }));
  const unload = (name: string) => act(name, 'Unloading…', () => postJson('/murmur/v1/unload', { model: name }));
  const remove = (name: string) => {
    setConfirming(undefined);
    return act(name, 'Removing…', () => request(`/murmur/v1/models/${encodeURIComponent(name)}`, { method: 'DELETE' }));
  };

  const loadedByName = useMemo(() => new Map(loaded.map((m) => [m.name, m])), [loaded]);
  // An installed model named as a catalog entry (or one of its aliases) answers to that name: the entry's own Pull would not.
  const installedNames = useMemo(() => new Set((installed ?? []).map((m) => m.name)), [installed]);
  const shadowOf = (entry: { name: string; aliases: readonly string[] }): string | undefined => [entry.name, ...entry.aliases].find((n) => installedNames.has(n));
  const kinds = useMemo(() => [...new Set((catalog ?? []).map((e) => e.kind))].sort(), [catalog]);
  const shown = useMemo(() => {
    const words = filter.trim().toLowerCase();
    return (catalog ?? []).filter(
      (e) => (!kind || e.kind === kind) && (!words || [e.name, ...e.aliases, e.description, ...e.languages].some((text) => text.toLowerCase().includes(words))),
    );
  }, [catalog, filter, kind]);
  const pulling = pull && !['installed', 'failed', 'cancelled'].includes(pull.phase);

  return (
    <section aria-labelledby="models-title" class="models">
      <h2 id="models-title">Models</h2>
      {problem && (
        <p class="error" role="alert">
          {problem} <button onClick={() => void refresh()}>Retry</button>
        </p>
      )}
      {pull && <PullProgress state={pull} />}

      <h3 id="models-installed">Installed</h3>
      {!installed ? (
        !problem && <p class="loading">Reading the models…</p>
      ) : !installed.length ? (
        <p class="muted">No models installed yet. Pull one from the catalog below.</p>
      ) : (
        <div class="models-scroll">
          <table aria-labelledby="models-installed" class="models-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Size</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {installed.map((m) => {
                const live = loadedByName.get(m.name);
                const doing = busy[m.name];
                return (
                  <tr key={m.name} data-model={m.name}>
                    <th scope="row" class="models-name">
                      {m.name}
                    </th>
                    <td>{m.kind}</td>
                    <td>{m.size === undefined ? '' : formatBytes(m.size)}</td>
                    <td class="models-state">
                      {m.broken ? (
                        <span class="models-broken" title={m.broken}>
                          broken: {m.broken}
                        </span>
                      ) : live ? (
                        <>
                          <span class="models-badge models-loaded">loaded</span>
                          <span class="muted">
                            {' '}
                            {formatBytes(live.memoryBytes)}
                            {live.contextSize ? ` · ${live.contextSize} ctx` : ''} · unloads {expiry(live.expiresAt, now)}
                            {live.inFlight ? ` · ${live.inFlight} running` : ''}
                            {live.queued ? ` · ${live.queued} queued` : ''}
                          </span>
                        </>
                      ) : (
                        <span class="models-badge">not loaded</span>
                      )}
                      {rowError[m.name] && (
                        <p class="error models-row-error" role="alert">
                          {rowError[m.name]}
                        </p>
                      )}
                    </td>
                    <td class="models-actions">
                      {doing ? (
                        <span class="muted">{doing}</span>
                      ) : confirming === m.name ? (
                        <span
                          class="models-confirm"
                          role="group"
                          aria-label={`Remove ${m.name}?`}
                          onKeyDown={(event) => {
                            if (event.key !== 'Escape') return;
                            setConfirming(undefined);
                            setRefocus(m.name);
                          }}
                        >
                          <span>Remove {m.name}?</span>
                          <button type="button" class="models-danger" onClick={() => void remove(m.name)}>
                            Yes, remove
                          </button>
                          <button type="button" onClick={() => (setConfirming(undefined), setRefocus(m.name))} autofocus>
                            Keep it
                          </button>
                        </span>
                      ) : (
                        <>
                          {live ? (
                            <button type="button" onClick={() => void unload(m.name)} aria-label={`Unload ${m.name}`}>
                              Unload
                            </button>
                          ) : (
                            <button type="button" onClick={() => void load(m.name)} aria-label={`Load ${m.name}`} disabled={!!m.broken}>
                              Load
                            </button>
                          )}
                          <button type="button" onClick={() => setConfirming(m.name)} aria-label={`Remove ${m.name}`}>
                            Remove
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h3 id="models-catalog">Catalog</h3>
      <div class="row">
        <label>
          Filter
          <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="name, language, words" />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <form
          class="models-ref"
          onSubmit={(event) => {
            event.preventDefault();
            if (ref.trim()) void startPull(ref.trim());
          }}
        >
          <label>
            Or pull by name, hf: URI or URL
            <input value={ref} onInput={(e) => setRef((e.target as HTMLInputElement).value)} placeholder="hf:owner/repo/file.gguf" />
          </label>
          <button type="submit" disabled={!ref.trim() || !!pulling}>
            Pull
          </button>
        </form>
      </div>
      {!catalog ? (
        !problem && <p class="loading">Reading the catalog…</p>
      ) : (
        <div class="models-scroll">
          <table aria-labelledby="models-catalog" class="models-table models-catalog">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Size</th>
                <th scope="col">Description</th>
                <th scope="col">Pull</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.name} data-entry={e.name}>
                  <th scope="row" class="models-name">
                    {e.name}
                    {e.aliases.length > 0 && <span class="muted models-aliases"> {e.aliases.join(', ')}</span>}
                  </th>
                  <td>{e.kind}</td>
                  <td>{formatBytes(e.size)}</td>
                  <td>
                    {e.description}
                    {e.languages.length > 0 && <span class="muted models-languages"> · {e.languages.length > 6 ? `${e.languages.slice(0, 6).join(', ')} +${e.languages.length - 6}` : e.languages.join(', ')}</span>}
                  </td>
                  <td>
                    {!e.installed && shadowOf(e) && <span class="muted models-shadow">the installed “{shadowOf(e)}” answers to this name; </span>}
                    {e.installed ? (
                      <span class="models-badge models-loaded">installed</span>
                    ) : pulling && pull.ref === e.name ? (
                      <span class="muted">pulling…</span>
                    ) : (
                      <button type="button" onClick={() => void startPull(e.name)} disabled={!!pulling} aria-label={`Pull ${e.name}`}>
                        Pull
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!shown.length && <p class="muted">No catalog entry matches.</p>}
        </div>
      )}
    </section>
  );
};
