import { isAbortError } from '../errors.js';
import { isValidModelName } from '../store/paths.js';
import type { GenerationResult } from '../types/chat.js';
import type { UpstreamStatus } from '../routing/upstream.js';
import type { EngineHealth, LoadedModel } from '../types/models.js';

/**
 * The daemon's Prometheus metrics, kept in plain maps and written in the
 * text exposition format (version 0.0.4). Small enough not to need a library.
 */

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The label of models that are not (or no longer) installed, and of names no model has. */
const OTHER = 'other';
/** Distinct model labels kept at most. */
const MAX_MODEL_LABELS = 256;

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

export type RealtimeStage = 'transcription' | 'first_token' | 'first_audio';

/** Per-key counts of a daemon with named keys (the config file's `keys`; see tenants.ts), by the key's name. */
export interface TenantMetrics {
  /** The names to write lines for (with zeros until counted); nothing is written before. */
  declare(names: readonly string[]): void;
  /** Counts a request the key's limits admitted. */
  request(name: string): void;
  /** Counts a request refused with 429, by the limit that refused it. */
  rejected(name: string, reason: 'requests' | 'streams' | 'tokens'): void;
  /** Counts prompt plus completion tokens charged to the key. */
  tokens(name: string, count: number): void;
  /** Moves the key's requests-in-flight gauge by one. */
  streams(name: string, delta: 1 | -1): void;
}

export interface Metrics {
  /** Counts a finished request and its latency in seconds. */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** Counts generated tokens and records the generation speed. */
  observeGeneration(model: string, tokens: number, tokensPerSecond: number): void;
  /** Counts a generation's end: completed, aborted (client gone or shutdown) or failed. */
  observeOutcome(model: string, outcome: 'completed' | 'aborted' | 'failed'): void;
  /** Records how long one stage of a realtime response took (transcription, first_token, first_audio), in seconds. */
  observeRealtimeStage(stage: RealtimeStage, seconds: number): void;
  /** Realtime sessions open now. */
  readonly realtime: { inc(): void; dec(): void; readonly count: number };
  /** Requests being handled now. */
  readonly active: { inc(): void; dec(): void; readonly count: number };
  /** Per-key counts (tenants.ts). */
  readonly tenants: TenantMetrics;
  /** The exposition text, with the runtime's loaded models as gauges and its engine restarts. */
  /** The page; `upstreams` (a routing daemon's, from its router's status) adds the murmur_upstream_* families. */
  render(loaded: readonly LoadedModel[], installed?: ReadonlySet<string>, health?: EngineHealth, upstreams?: readonly UpstreamStatus[]): string;
}

const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (pairs: Record<string, string | number>): string =>
  `{${Object.entries(pairs).map(([k, v]) => `${k}="${escape(String(v))}"`).join(',')}}`;
const number = (value: number): string => (Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : '-Inf');

/** Adds one observation to the histogram kept under `key`. */
const observe = <K>(histograms: Map<K, Histogram>, key: K, seconds: number) => {
  const histogram = histograms.get(key) ?? { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
  BUCKETS.forEach((bound, i) => {
    if (seconds <= bound) histogram.counts[i]! += 1;
  });
  histogram.sum += seconds;
  histogram.count += 1;
  histograms.set(key, histogram);
};

/** A histogram family's exposition lines: buckets, sum and count per label value. */
const histogramLines = (name: string, label: string, histograms: Map<string, Histogram>): string[] =>
  [...histograms].flatMap(([value, h]) => [
    ...BUCKETS.map((bound, i) => `${name}_bucket${labels({ [label]: value, le: bound })} ${h.counts[i]}`),
    `${name}_bucket${labels({ [label]: value, le: '+Inf' })} ${h.count}`,
    `${name}_sum${labels({ [label]: value })} ${number(h.sum)}`,
    `${name}_count${labels({ [label]: value })} ${h.count}`,
  ]);

/** Creates an empty metrics registry. */
export const createMetrics = (): Metrics => {
  const requests = new Map<string, { route: string; method: string; status: number; count: number }>();
  const latency = new Map<string, Histogram>();
  const tokens = new Map<string, number>();
  const speed = new Map<string, number>();
  const outcomes = new Map<string, { model: string; outcome: string; count: number }>();
  let active = 0;
  let realtimeOpen = 0;
  const stages = new Map<RealtimeStage, Histogram>();
  // Tenant names come from the config file, never from requests: no label cap is needed.
  const perKey = new Map<string, { requests: number; rejected: Record<'requests' | 'streams' | 'tokens', number>; tokens: number; inFlight: number }>();
  const keyCounts = (name: string) => {
    let entry = perKey.get(name);
    if (!entry) perKey.set(name, (entry = { requests: 0, rejected: { requests: 0, streams: 0, tokens: 0 }, tokens: 0, inFlight: 0 }));
    return entry;
  };
  /*
   * Model labels come from requests, so a client could mint one per request
   * (3,000 unique 20 KB names grew the page to 60 MB): a name that is not a
   * model name, or any past MAX_MODEL_LABELS distinct ones, counts as
   * 'other', and the page shows only installed models by name.
   */
  const seen = new Set<string>();
  const modelLabel = (name: string): string => {
    if (!isValidModelName(name) || name.length > 128) return OTHER;
    if (!seen.has(name)) {
      if (seen.size >= MAX_MODEL_LABELS) return OTHER;
      seen.add(name);
    }
    return name;
  };

  const header = (name: string, type: string, help: string) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];

  return {
    observeRequest(route, method, status, seconds) {
      const key = `${method} ${route} ${status}`;
      const entry = requests.get(key) ?? { route, method, status, count: 0 };
      entry.count += 1;
      requests.set(key, entry);
      observe(latency, route, seconds);
    },
    observeGeneration(raw, count, tokensPerSecond) {
      const model = modelLabel(raw);
      tokens.set(model, (tokens.get(model) ?? 0) + count);
      if (Number.isFinite(tokensPerSecond) && tokensPerSecond > 0) speed.set(model, tokensPerSecond);
    },
    observeOutcome(raw, outcome) {
      const model = modelLabel(raw);
      const key = `${model} ${outcome}`;
      const entry = outcomes.get(key) ?? { model, outcome, count: 0 };
      entry.count += 1;
      outcomes.set(key, entry);
    },
    observeRealtimeStage(stage, seconds) {
      observe(stages, stage, seconds);
    },
    realtime: {
      inc: () => void (realtimeOpen += 1),
      dec: () => void (realtimeOpen -= 1),
      get count() {
        return realtimeOpen;
      },
    },
    active: {
      inc: () => void (active += 1),
      dec: () => void (active -= 1),
      get count() {
        return active;
      },
    },
    tenants: {
      declare: (names) => names.forEach(keyCounts),
      request: (name) => void (keyCounts(name).requests += 1),
      rejected: (name, reason) => void (keyCounts(name).rejected[reason] += 1),
      tokens: (name, count) => void (keyCounts(name).tokens += count),
      streams: (name, delta) => void (keyCounts(name).inFlight += delta),
    },
    render(loaded, installed, health, upstreams = []) {
      const shown = (name: string) => (!installed || installed.has(name) ? name : OTHER);
      const sum = (entries: Iterable<[string, number]>, merge: (a: number, b: number) => number) => {
        const out = new Map<string, number>();
        for (const [name, value] of entries) {
          const label = shown(name);
          out.set(label, out.has(label) ? merge(out.get(label)!, value) : value);
        }
        return out;
      };
      const byOutcome = new Map<string, { model: string; outcome: string; count: number }>();
      for (const o of outcomes.values()) {
        const model = shown(o.model);
        const entry = byOutcome.get(`${model} ${o.outcome}`) ?? { model, outcome: o.outcome, count: 0 };
        entry.count += o.count;
        byOutcome.set(`${model} ${o.outcome}`, entry);
      }
      const lines: string[] = [];
      lines.push(...header('murmur_http_requests_total', 'counter', 'HTTP requests by route, method and status.'));
      for (const r of requests.values()) lines.push(`murmur_http_requests_total${labels({ route: r.route, method: r.method, status: r.status })} ${r.count}`);
      lines.push(...header('murmur_http_request_duration_seconds', 'histogram', 'Time to the response headers, in seconds.'));
      lines.push(...histogramLines('murmur_http_request_duration_seconds', 'route', latency));
      lines.push(...header('murmur_http_requests_in_flight', 'gauge', 'HTTP requests being handled now.'));
      lines.push(`murmur_http_requests_in_flight ${active}`);
      lines.push(...header('murmur_tokens_generated_total', 'counter', 'Completion tokens generated, by model.'));
      for (const [model, count] of sum(tokens, (a, b) => a + b)) lines.push(`murmur_tokens_generated_total${labels({ model })} ${count}`);
      lines.push(...header('murmur_generations_total', 'counter', 'Generations by model and outcome (completed, aborted, failed).'));
      for (const o of byOutcome.values()) lines.push(`murmur_generations_total${labels({ model: o.model, outcome: o.outcome })} ${o.count}`);
      lines.push(...header('murmur_tokens_per_second', 'gauge', 'Decode speed of the last generation, by model.'));
      for (const [model, value] of sum(speed, (_a, b) => b)) lines.push(`murmur_tokens_per_second${labels({ model })} ${number(value)}`);
      lines.push(...header('murmur_loaded_models', 'gauge', 'Models loaded now.'));
      lines.push(`murmur_loaded_models ${loaded.length}`);
      lines.push(...header('murmur_model_memory_bytes', 'gauge', 'Memory a loaded model holds.'));
      for (const m of loaded) lines.push(`murmur_model_memory_bytes${labels({ model: m.name, kind: m.kind })} ${m.memoryBytes}`);
      lines.push(...header('murmur_model_requests_in_flight', 'gauge', 'Requests a loaded model is serving now.'));
      for (const m of loaded) lines.push(`murmur_model_requests_in_flight${labels({ model: m.name })} ${m.inFlight}`);
      lines.push(...header('murmur_queue_depth', 'gauge', 'Requests waiting for a free slot, by model.'));
      for (const m of loaded) lines.push(`murmur_queue_depth${labels({ model: m.name })} ${m.queued}`);
      lines.push(...header('murmur_engine_restarts_total', 'counter', 'Engine processes that crashed or were killed for hanging (the model loads afresh on its next request), by model.'));
      for (const [model, count] of sum(health?.restarts ?? [], (a, b) => a + b)) lines.push(`murmur_engine_restarts_total${labels({ model })} ${count}`);
      lines.push(...header('murmur_broken_models', 'gauge', 'Models refused after crashing their engine too many times in a row.'));
      lines.push(`murmur_broken_models ${health?.broken.size ?? 0}`);
      lines.push(...header('murmur_realtime_sessions', 'gauge', 'Realtime (/v1/realtime) sessions open now.'));
      lines.push(`murmur_realtime_sessions ${realtimeOpen}`);
      lines.push(...header('murmur_realtime_stage_seconds', 'histogram', 'Realtime responses by stage: transcription (turn end to transcript), first_token and first_audio (from the response start).'));
      lines.push(...histogramLines('murmur_realtime_stage_seconds', 'stage', stages));
      if (perKey.size) {
        lines.push(...header('murmur_tenant_requests_total', 'counter', 'Requests admitted, by API key name (config file keys).'));
        for (const [tenant, k] of perKey) lines.push(`murmur_tenant_requests_total${labels({ tenant })} ${k.requests}`);
        lines.push(...header('murmur_tenant_rejected_total', 'counter', 'Requests refused with 429, by API key name and the limit (requests, streams, tokens).'));
        for (const [tenant, k] of perKey) for (const [reason, count] of Object.entries(k.rejected)) lines.push(`murmur_tenant_rejected_total${labels({ tenant, reason })} ${count}`);
        lines.push(...header('murmur_tenant_tokens_total', 'counter', 'Prompt plus completion tokens charged, by API key name.'));
        for (const [tenant, k] of perKey) lines.push(`murmur_tenant_tokens_total${labels({ tenant })} ${k.tokens}`);
        lines.push(...header('murmur_tenant_streams_in_flight', 'gauge', 'Requests (streams, WebSocket sessions) in flight now, by API key name.'));
        for (const [tenant, k] of perKey) lines.push(`murmur_tenant_streams_in_flight${labels({ tenant })} ${k.inFlight}`);
      }
      if (upstreams.length) {
        const family = (name: string, type: string, help: string, value: (s: UpstreamStatus) => number) => {
          lines.push(...header(name, type, help));
          for (const s of upstreams) lines.push(`${name}${labels({ upstream: s.name })} ${value(s)}`);
        };
        family('murmur_upstream_up', 'gauge', 'Whether an upstream passes its health check (1) or is taken out (0).', (s) => (s.healthy ? 1 : 0));
        family('murmur_upstream_requests_in_flight', 'gauge', 'Requests an upstream is serving now.', (s) => s.inFlight);
        family('murmur_upstream_requests_total', 'counter', 'Requests sent to an upstream, retried ones included.', (s) => s.requests);
        family('murmur_upstream_errors_total', 'counter', 'Requests to an upstream that failed (down, timed out, 5xx, refused key, dropped stream).', (s) => s.errors);
        family('murmur_upstream_latency_seconds', 'gauge', "Mean time to an upstream's response headers.", (s) => Math.round(s.latencyMs) / 1000);
      }
      return `${lines.join('\n')}\n`;
    },
  };
};

/**
 * The end of one chat or completion request, for its route's `onEnd`: counts
 * the tokens and speed of a result, and the outcome (aborted when `signal`
 * fired or the error is an abort; `requested` names the model when no
 * result says which one ran), and charges the tokens to `tenant` (the
 * request's key, `c.get('tenant')`) when there is one.
 */
export const generationRecorder =
  (metrics: Metrics, requested: string, signal: AbortSignal, tenant?: { charge(promptTokens: number, completionTokens: number): void }) =>
  (result: GenerationResult | undefined, error?: unknown): void => {
    if (result) metrics.observeGeneration(result.model || requested, result.usage.completionTokens, result.timings.tokensPerSecond);
    // The request's key (tenants.ts) is charged what the generation used, for its tokens-per-minute limit.
    if (result) tenant?.charge(result.usage.promptTokens, result.usage.completionTokens);
    metrics.observeOutcome(result?.model || requested, result ? 'completed' : isAbortError(error) || signal.aborted ? 'aborted' : 'failed');
  };
