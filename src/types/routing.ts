/**
 * Upstream routing and tenants, as the config file (`murmur serve --config`,
 * MURMUR_CONFIG, MURMUR_HOME/config.yaml) and `serve --upstream/--route`
 * declare them. src/config-file.ts parses them; the routing runtime
 * (src/runtime/routing-runtime.ts), the pass-through routes and the tenant
 * middleware read them from Config.
 */

/** The API an upstream speaks: any OpenAI-compatible server, or another murmur daemon (OpenAI's routes plus murmur's own). */
export type UpstreamDialect = 'openai' | 'murmur';

/** A named server models can be routed to. */
export interface UpstreamSpec {
  /** Its name in routes, `murmur ps` and /metrics: letters, digits, `-`, `_` and `.`. */
  readonly name: string;
  /** Its OpenAI base URL, e.g. `http://gpu-box:8000/v1` (http or https; a trailing slash is dropped). */
  readonly url: string;
  /** The bearer key it wants, resolved (from `api-key`, or the variable `api-key-env` names); never logged or echoed. */
  readonly apiKey?: string;
  /** How long it may take to answer (the response's headers) before another replica is tried or the client gets a 504, in ms. */
  readonly timeoutMs: number;
  readonly dialect: UpstreamDialect;
  /** How often it is checked in the background, in ms. */
  readonly healthIntervalMs: number;
}

/** A model name or glob routed to one upstream or to replicas. */
export interface RouteSpec {
  /** A model name, or a glob (`*` any run of characters, `?` one) matched against the whole requested name. */
  readonly pattern: string;
  /** Upstream names; more than one are replicas serving the same model. */
  readonly upstreams: readonly string[];
  /** The model name sent upstream instead of the requested one (vLLM's `--served-model-name`); absent, the name is sent as asked. */
  readonly model?: string;
  /** Where it was declared, for warnings: `config.yaml:12` or `--route`. */
  readonly source?: string;
}

/** An API key of a shared daemon, with its owner's name and optional limits. */
export interface TenantSpec {
  /** Shown in /metrics and the log (never the key). */
  readonly name: string;
  readonly key: string;
  /** Requests per minute; past it, 429 with Retry-After. */
  readonly requestsPerMinute?: number;
  /** Requests (streams, WebSocket sessions) in flight at once. */
  readonly streams?: number;
  /** Prompt plus completion tokens per minute. */
  readonly tokensPerMinute?: number;
}
