import { useEffect, useState } from 'preact/hooks';
import { ApiError, formatBytes, getJson, request } from '../api.js';
import { newestOnly } from '../newest-only.js';
import { listLoaded, type LoadedInfo } from './models.js';
import { ratesOf, scrapeOf, sparkline, type Point, type Scrape } from './status-metrics.js';
import './status.css';

/*
 * The Status view: the daemon's version and address, what is loaded, the
 * requests in flight and queued, and tokens/s and requests over the last
 * minutes as small live charts drawn from /metrics. It polls only while shown;
 * the history it drew stays for the next time it is.
 */

const EVERY_MS = 3000;
/** The second scrape comes sooner: a rate needs two, so the charts draw about a second after the view opens. */
const SEED_MS = 1000;
const WINDOW_MS = 5 * 60_000;

interface Health {
  readonly status: string;
  readonly version?: string;
  readonly pid?: number;
  readonly started_at?: string;
  readonly uptime_s?: number;
  readonly loading?: readonly string[];
}

/** The scrapes of the last minutes, kept across visits to the view. */
const history: Scrape[] = [];

const messageOf = (error: unknown): string => (error instanceof ApiError ? error.message : String((error as Error)?.message ?? error));

const uptime = (s: number): string => (s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`);

const number = (value: number): string => (value >= 100 ? String(Math.round(value)) : value >= 10 ? value.toFixed(1) : value.toFixed(2).replace(/\.?0+$/, '') || '0');

const Chart = ({ id, title, unit, points, now }: { id: string; title: string; unit: string; points: readonly Point[]; now: number }) => {
  const width = 240;
  const height = 48;
  const { path, max, count } = sparkline(points, now, WINDOW_MS, width, height);
  const last = points.at(-1)?.value;
  return (
    <figure class="status-chart" data-chart={id}>
      <figcaption>
        <span>{title}</span>
        <strong class="status-now">{last === undefined ? '–' : `${number(last)} ${unit}`}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${title} over the last ${WINDOW_MS / 60_000} minutes: now ${last === undefined ? 'no data yet' : `${number(last)} ${unit}`}, at most ${number(max)} ${unit}`}>
        <line x1="0" y1={height - 1} x2={width} y2={height - 1} class="status-axis" />
        {path && <polyline points={path} class="status-line" data-points={count} />}
      </svg>
      <span class="muted status-max">
        {points.length ? `max ${number(max)} ${unit} · last ${WINDOW_MS / 60_000} min` : 'collecting…'}
      </span>
    </figure>
  );
};

export const StatusView = () => {
  const [health, setHealth] = useState<Health | undefined>();
  const [loaded, setLoaded] = useState<LoadedInfo[] | undefined>();
  const [scrapes, setScrapes] = useState<readonly Scrape[]>([...history]);
  const [problem, setProblem] = useState<string | undefined>();
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    let stopped = false;
    const controller = new AbortController();
    // A slow scrape (a busy daemon) can answer after the next one: only the newest is kept, so the history stays in order.
    const newest = newestOnly(([h, ps, text]: [Health, LoadedInfo[], string]) => {
      if (stopped) return;
      const at = Date.now();
      history.push(scrapeOf(text, at));
      while (history.length > 2 && history[0]!.at < at - WINDOW_MS - EVERY_MS) history.shift();
      setHealth(h);
      setLoaded(ps);
      setScrapes([...history]);
      setNow(at);
      setProblem(undefined);
    });
    const poll = async () => {
      try {
        await newest(() =>
          Promise.all([
            getJson<Health>('/health', controller.signal),
            listLoaded(controller.signal),
            request('/metrics', { signal: controller.signal }).then((r) => r.text()),
          ]),
        );
      } catch (error) {
        if (!stopped) setProblem(messageOf(error));
      }
    };
    let seed: ReturnType<typeof setTimeout> | undefined;
    void poll().then(() => {
      if (!stopped && history.length === 1) seed = setTimeout(() => void poll(), SEED_MS);
    });
    const timer = setInterval(() => void poll(), EVERY_MS);
    return () => {
      stopped = true;
      controller.abort();
      clearInterval(timer);
      clearTimeout(seed);
    };
  }, []);

  const last = scrapes.at(-1);
  const tokens = ratesOf(scrapes, (s) => s.tokens);
  const requests = ratesOf(scrapes, (s) => s.requests, 60);
  const inFlight = loaded?.reduce((sum, m) => sum + m.inFlight, 0) ?? last?.inFlight ?? 0;
  const queued = loaded?.reduce((sum, m) => sum + m.queued, 0) ?? last?.queued ?? 0;

  return (
    <section aria-labelledby="status-title" class="status">
      <h2 id="status-title">Status</h2>
      {problem && (
        <p class="error" role="alert">
          {problem} The view keeps trying every few seconds.
        </p>
      )}
      <dl class="status-facts">
        <div>
          <dt>Daemon</dt>
          <dd data-fact="version">{health?.version ? `murmur v${health.version}` : '…'}</dd>
        </div>
        <div>
          <dt>Address</dt>
          <dd data-fact="address">{location.origin}</dd>
        </div>
        <div>
          <dt>State</dt>
          <dd data-fact="state">
            {health ? `${health.status}${health.loading?.length ? ` (loading ${health.loading.join(', ')})` : ''}` : '…'}
            {health?.uptime_s !== undefined ? ` · up ${uptime(health.uptime_s)}` : ''}
            {health?.pid !== undefined ? ` · pid ${health.pid}` : ''}
          </dd>
        </div>
        <div>
          <dt>In flight</dt>
          <dd data-fact="in-flight">{inFlight}</dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd data-fact="queued">{queued}</dd>
        </div>
        <div>
          <dt>Tokens generated</dt>
          <dd data-fact="tokens">{last ? Math.round(last.tokens) : '…'}</dd>
        </div>
      </dl>

      <div class="status-charts">
        <Chart id="tokens" title="Tokens/s" unit="tok/s" points={tokens} now={now} />
        <Chart id="requests" title="Requests" unit="/min" points={requests} now={now} />
      </div>

      <h3 id="status-loaded">Loaded models</h3>
      {!loaded ? (
        !problem && <p class="loading">Reading…</p>
      ) : !loaded.length ? (
        <p class="muted">No model is loaded now; one loads on its first request (or from the Models view).</p>
      ) : (
        <div class="status-scroll">
          <table aria-labelledby="status-loaded">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Memory</th>
                <th scope="col">Running</th>
                <th scope="col">Queued</th>
                <th scope="col">Last speed</th>
              </tr>
            </thead>
            <tbody>
              {loaded.map((m) => {
                const speed = last?.speed.get(m.name);
                return (
                  <tr key={m.name} data-model={m.name}>
                    <th scope="row">{m.name}</th>
                    <td>{m.kind}</td>
                    <td>
                      {formatBytes(m.memoryBytes)}
                      {m.vramBytes ? ` (${formatBytes(m.vramBytes)} GPU)` : ''}
                    </td>
                    <td>{m.inFlight}</td>
                    <td>{m.queued}</td>
                    <td>{speed === undefined ? '' : `${number(speed)} tok/s`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
};
