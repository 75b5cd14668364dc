/*
 * The few numbers the Status view reads from the daemon's /metrics
 * (Prometheus text format 0.0.4), and the history of them it charts.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const unescape = (value: string): string => value.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** The samples of an exposition text: `name{a="b",…} value` lines; comments and blank lines skipped. */
export const parseMetrics = (text: string): Sample[] => {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = unescape(pair[2]!);
    const value = match[4] === '+Inf' ? Infinity : match[4] === '-Inf' ? -Infinity : Number(match[4]);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
};

/** The routes of the page's own polling and of its assets: not counted as requests in the chart. */
const HOUSEKEEPING = new Set(['/health', '/metrics', '/murmur/v1/ps', '/murmur/v1/models', '/murmur/v1/catalog', '/v1/models', '/', 'unmatched']);
const counted = (route: string) => !HOUSEKEEPING.has(route) && !route.startsWith('/web');

/** What one scrape says, summed over models and routes. */
export interface Scrape {
  readonly at: number;
  /** murmur_tokens_generated_total, all models. */
  readonly tokens: number;
  /** murmur_http_requests_total over the API routes (not this page's polling). */
  readonly requests: number;
  readonly inFlight: number;
  readonly queued: number;
  /** murmur_tokens_per_second: the last generation's decode speed, by model. */
  readonly speed: ReadonlyMap<string, number>;
  readonly realtime: number;
}

const total = (samples: readonly Sample[], name: string, keep: (s: Sample) => boolean = () => true) =>
  samples.filter((s) => s.name === name && keep(s)).reduce((sum, s) => sum + (Number.isFinite(s.value) ? s.value : 0), 0);

export const scrapeOf = (text: string, at: number): Scrape => {
  const samples = parseMetrics(text);
  return {
    at,
    tokens: total(samples, 'murmur_tokens_generated_total'),
    requests: total(samples, 'murmur_http_requests_total', (s) => counted(s.labels.route ?? '')),
    inFlight: total(samples, 'murmur_model_requests_in_flight'),
    queued: total(samples, 'murmur_queue_depth'),
    speed: new Map(samples.filter((s) => s.name === 'murmur_tokens_per_second').map((s) => [s.labels.model ?? '', s.value])),
    realtime: total(samples, 'murmur_realtime_sessions'),
  };
};

/** One point of a chart: the rate between two scrapes. */
export interface Point {
  readonly at: number;
  readonly value: number;
}

/** Per-second rates of `pick` between consecutive scrapes (a counter that went down, a restarted daemon, counts from zero). */
export const ratesOf = (scrapes: readonly Scrape[], pick: (s: Scrape) => number, perSeconds = 1): Point[] => {
  const points: Point[] = [];
  for (let i = 1; i < scrapes.length; i++) {
    const a = scrapes[i - 1]!;
    const b = scrapes[i]!;
    const seconds = (b.at - a.at) / 1000;
    if (seconds <= 0) continue;
    const delta = pick(b) >= pick(a) ? pick(b) - pick(a) : pick(b);
    points.push({ at: b.at, value: (delta / seconds) * perSeconds });
  }
  return points;
};

/**
 * The SVG polyline points of `points` within `windowMs` ending at `now`, in a
 * width × height box (max at the top), and how many points it draws. One
 * point is drawn as a level line across the box (its value until a second
 * comes), since a polyline of one point shows nothing.
 */
export const sparkline = (points: readonly Point[], now: number, windowMs: number, width: number, height: number): { path: string; max: number; count: number } => {
  const shown = points.filter((p) => p.at >= now - windowMs);
  const max = Math.max(0, ...shown.map((p) => p.value));
  const scale = max > 0 ? max : 1;
  const y = (p: Point) => (height - 1 - (p.value / scale) * (height - 2)).toFixed(1);
  const path =
    shown.length === 1
      ? `0,${y(shown[0]!)} ${width},${y(shown[0]!)}`
      : shown.map((p) => `${(((p.at - (now - windowMs)) / windowMs) * width).toFixed(1)},${y(p)}`).join(' ');
  return { path, max, count: shown.length };
};
