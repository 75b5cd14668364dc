import { readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import type { RouteSpec, TenantSpec, UpstreamSpec } from './types/routing.js';

/** The daemon's default port: clear of Ollama (11434), LM Studio (1234), llama-server (8080), speaches (8000) and Kokoro-FastAPI (8880). */
export const DEFAULT_PORT = 11470;

export interface Config {
  /** Root of the model store and murmur's state. */
  readonly home: string;
  /** Base URL of the daemon that clients talk to and `serve` binds to. */
  readonly host: string;
  /** Where pulls fetch from instead of the internet: an http(s) base URL or a directory. */
  readonly mirror?: string;
  /** A user catalog that adds to or overrides models.json. */
  readonly catalog?: string;
  readonly apiKey?: string;
  readonly debug: boolean;
  /** 'auto' picks CUDA, Vulkan or Metal where present and the CPU quietly otherwise. */
  readonly gpu: 'auto' | 'cuda' | 'vulkan' | 'metal' | 'off';
  /** Threads for inference; defaults to the physical cores less one (see defaultThreads). */
  readonly threads: number;
  /** How long a model stays loaded after its last use, in ms; -1 forever, 0 unload at once. */
  readonly keepAliveMs: number;
  /** Requests one model serves at once (sequences of one context). */
  readonly parallel: number;
  /** Models kept loaded at once before the least recently used is evicted. */
  readonly maxLoaded: number;
  /** Bytes loaded models may hold before least recently used idle ones are unloaded (Infinity: unbounded); unset derives it from free memory (see defaultMaxMemory). */
  readonly maxMemoryBytes?: number;
  /** The daemon's log: JSON lines or readable ones; unset means JSON unless stderr is a terminal. */
  readonly logFormat?: 'json' | 'pretty';
  /** Requests per model that may wait for a free slot before the daemon answers 503; default 8 × parallel. */
  readonly maxQueue?: number;
  /** Origins allowed by CORS on the daemon ('*' for any); empty means CORS off. */
  readonly cors: readonly string[];
  /** Host names the daemon answers to besides loopback ones ('*' for any). */
  readonly allowedHosts: readonly string[];
  /** Hosts a pull asked for over HTTP may fetch from besides the catalog's ('*' for any public host); listed ones may be private. */
  readonly pullHosts: readonly string[];
  /** Directories a pull asked for over HTTP may import local models from (none by default). */
  readonly importDirs: readonly string[];
  /** The default chat model (chat, and the voice loop); the catalog default when unset. */
  readonly chatModel?: string;
  /** The default text-to-speech model (speak, chat --speak, OpenAI's tts-1…); the catalog default when unset. */
  readonly ttsModel?: string;
  /** The default speech-to-text model (transcribe, OpenAI's whisper-1…); the catalog default when unset. */
  readonly asrModel?: string;
  /** How long a speech session of the daemon lives with no input and no reader, in ms. */
  readonly speechSessionIdleMs: number;
  /** Speech sessions the daemon keeps open at once before answering 503. */
  readonly maxSpeechSessions: number;
  /** Realtime (/v1/realtime) sessions the daemon holds at once; past them a new one gets an error event and a close. */
  readonly maxRealtimeSessions: number;
  /**
   * Where engines run: 'process' gives each loaded model a process of its own
   * (a native crash fails only its requests), 'none' runs them in this one.
   * Unset means the command's default: process for `serve`, none otherwise.
   */
  readonly isolation?: 'process' | 'none';
  /** A PEM certificate file: with tlsKey, the daemon serves HTTPS and WSS. */
  readonly tlsCert?: string;
  /** The certificate's PEM private key file. */
  readonly tlsKey?: string;
  /** A second port `serve` also listens on, at the same address (such as Ollama's 11434, which some clients hard-code); 0 picks a free one. */
  readonly ollamaPort?: number;
  /** Whether `serve` serves the browser page at `/` (on unless MURMUR_WEB is off or `--no-web`). */
  readonly web?: boolean;
  /** How long an engine process may go without answering (or stay stuck on a request at no CPU) before it is restarted, in ms. */
  readonly engineTimeoutMs: number;
  /** The voice used when none is asked for, or an OpenAI voice name (alloy, nova…) is; the model's default when unset or not one of its voices. */
  readonly voice?: string;
  /** Stored /v1/responses responses kept at most; past them the oldest are deleted. */
  readonly responsesMax: number;
  /** How long a stored /v1/responses response is kept, in ms; -1 for no age limit. */
  readonly responsesTtlMs: number;
  /** The config file these settings were read from (MURMUR_CONFIG, `serve --config`, or MURMUR_HOME/config.yaml when present). */
  readonly configFile?: string;
  /** Servers models can be routed to (the config file's `upstreams`, `serve --upstream`). */
  readonly upstreams: readonly UpstreamSpec[];
  /** Model names or globs routed to upstreams, in file order: the first match wins (`routes`, `serve --route`). */
  readonly routes: readonly RouteSpec[];
  /** API keys with names and limits (the config file's `keys`); with none, apiKey alone (or no key) as before. */
  readonly keys: readonly TenantSpec[];
  /** The address `serve` listens on (the config file's `bind`; `serve --bind` wins); 127.0.0.1 when unset. */
  readonly bind?: string;
  /** The port `serve` listens on (the config file's `port`; `serve --port` wins); MURMUR_HOST's port when unset. */
  readonly port?: number;
  /** How long `serve` lets requests in flight finish on SIGTERM, in ms (the config file's `grace`; `serve --grace` wins); 10s when unset. */
  readonly graceMs?: number;
}

type Parser<K extends keyof Config> = (raw: string, name: string) => Config[K];

interface Variable<K extends keyof Config = keyof Config> {
  readonly name: `MURMUR_${string}`;
  readonly key: K;
  readonly description: string;
  /** The default as shown in help text. */
  readonly shown: string;
  readonly parse: Parser<K>;
}

const text = (raw: string) => raw;
const flag = (raw: string) => !['', '0', 'false', 'no', 'off'].includes(raw.trim().toLowerCase());

/**
 * Parses a number given as text (a variable or a flag): blank, not finite or
 * failing `check` is a UsageError "`name` must be `rule`, not 'raw'."
 */
export const parseNumber = (raw: string, name: string, check: (n: number) => boolean = () => true, rule = 'a number'): number => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
    throw new UsageError(`${name} must be ${rule}, not '${raw}'.`);
  }
  return value;
};

/** Parses a whole number of `least` or more (threads, parallel requests, jobs). */
export const parseCount = (raw: string, name: string, least = 1): number =>
  parseNumber(raw, name, (n) => Number.isSafeInteger(n) && n >= least, `a whole number of ${least} or more`);

const positiveInt = (raw: string, name: string): number => parseCount(raw, name);

/** Parses a size in bytes: `8G`, `512M`, `1.5GiB`, `4096` (binary units: K = 1024); `off` for unbounded. */
export const parseBytes = (raw: string, name: string): number => {
  const value = raw.trim();
  if (/^(off|none|unlimited)$/i.test(value)) return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value);
  const bytes = match ? Math.round(Number(match[1]) * 1024 ** ' kmgt'.indexOf((match[2] || ' ').toLowerCase())) : 0;
  if (!match || bytes <= 0) throw new UsageError(`${name} must be a size such as 8G or 512M (or off), not '${raw}'.`);
  return bytes;
};

/** Parses a log format: json or pretty. */
export const parseLogFormat = (raw: string, name: string): 'json' | 'pretty' => {
  const value = raw.trim().toLowerCase();
  if (value === 'json' || value === 'pretty') return value;
  throw new UsageError(`${name} must be json or pretty, not '${raw}'.`);
};

/**
 * Parses a keep-alive: a number of seconds, a duration such as `30s`, `5m`,
 * `1h`, `7d`, `-1` (forever) or `0` (unload after the request). Returns ms.
 */
export const parseDuration = (raw: string, name = 'keep-alive'): number => {
  const value = raw.trim();
  if (/^-1$|^-1[smhd]$/.test(value)) return -1;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
  if (!match) {
    throw new UsageError(`${name} must be a duration such as 30s, 5m or 1h (-1 keeps it forever), not '${raw}'.`);
  }
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
  return Math.round(Number(match[1]) * scale);
};

/** The values MURMUR_GPU and `--gpu` accept. */
export const gpuChoices = ['auto', 'cuda', 'vulkan', 'metal', 'off'] as const;

/** Parses a GPU choice (`cpu` and `false` mean off); throws UsageError naming `name` otherwise. */
export const parseGpu = (raw: string, name = '--gpu'): Config['gpu'] => {
  const value = raw.trim().toLowerCase();
  if (value === 'false' || value === 'cpu') return 'off';
  if ((gpuChoices as readonly string[]).includes(value)) return value as Config['gpu'];
  throw new UsageError(`${name} must be one of ${gpuChoices.join(', ')}, not '${raw}'.`);
};

/** A daemon address as a base URL: `host`, `host:port` or a URL; no scheme means http, no port the default port. */
export const normaliseHost = (raw: string): string => {
  const value = raw.trim().replace(/\/+$/, '');
  if (/^https?:\/\//.test(value)) return value;
  return `http://${value.includes(':') ? value : `${value}:${DEFAULT_PORT}`}`;
};

/** The values MURMUR_ISOLATION and `--isolation` accept. */
export const isolationChoices = ['process', 'none'] as const;

/** Parses an isolation choice; throws UsageError naming `name` otherwise. */
export const parseIsolation = (raw: string, name = '--isolation'): 'process' | 'none' => {
  const value = raw.trim().toLowerCase();
  if ((isolationChoices as readonly string[]).includes(value)) return value as 'process' | 'none';
  throw new UsageError(`${name} must be process or none, not '${raw}'.`);
};

const parseEngineTimeout = (raw: string, name: string): number => {
  const ms = parseDuration(raw, name);
  if (ms < 100) throw new UsageError(`${name} must be a duration of at least 100ms, such as 30s or 2m, not '${raw}'.`);
  return ms;
};

const parseResponsesTtl = (raw: string, name: string): number => {
  const ms = parseDuration(raw, name);
  if (ms === 0) throw new UsageError(`${name} must be a duration such as 12h or 30d (-1 for no age limit), not '${raw}'.`);
  return ms;
};

/** The default port of Ollama, which some clients hard-code. */
export const OLLAMA_PORT = 11434;

/** Parses a port to listen on: a whole number from 0 (any free one) to 65535. */
export const parsePort = (raw: string, name: string): number =>
  parseNumber(raw, name, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number from 0 to 65535');

const define = <K extends keyof Config>(variable: Variable<K>): Variable => variable as unknown as Variable;

/** Every MURMUR_* variable, declared once. This list also feeds `--help` and man/murmur.1. */
export const variables: readonly Variable[] = [
  define({ name: 'MURMUR_HOME', key: 'home', shown: '~/.murmur', description: 'where models and state are kept', parse: (raw) => resolve(raw) }),
  define({ name: 'MURMUR_CONFIG', key: 'configFile', shown: 'MURMUR_HOME/config.yaml when present', description: 'a YAML config file of settings (named as the flags are), upstreams, routes and keys; flags win over it, and it over the environment', parse: (raw) => resolve(raw) }),
  define({ name: 'MURMUR_HOST', key: 'host', shown: `http://127.0.0.1:${DEFAULT_PORT}`, description: 'the daemon that chat, speak, transcribe, load and ps talk to', parse: normaliseHost }),
  define({ name: 'MURMUR_MIRROR', key: 'mirror', shown: 'unset', description: 'fetch https://HOST/PATH from MIRROR/HOST/PATH instead (an http URL or a directory), for air-gapped machines', parse: text }),
  define({ name: 'MURMUR_CATALOG', key: 'catalog', shown: 'unset', description: 'a JSON catalog of your own that adds to or overrides the built-in one', parse: (raw) => resolve(raw) }),
  define({ name: 'MURMUR_API_KEY', key: 'apiKey', shown: 'unset', description: 'bearer key the daemon requires and clients send', parse: text }),
  define({ name: 'MURMUR_GPU', key: 'gpu', shown: 'auto', description: 'auto, cuda, vulkan, metal or off', parse: parseGpu }),
  define({ name: 'MURMUR_THREADS', key: 'threads', shown: 'physical cores - 1', description: 'threads used for inference', parse: positiveInt }),
  define({ name: 'MURMUR_KEEP_ALIVE', key: 'keepAliveMs', shown: '5m', description: 'how long an idle model stays loaded (-1 forever, 0 not at all)', parse: (raw, name) => parseDuration(raw, name) }),
  define({ name: 'MURMUR_PARALLEL', key: 'parallel', shown: '4', description: 'requests one model serves at once', parse: positiveInt }),
  define({ name: 'MURMUR_MAX_QUEUE', key: 'maxQueue', shown: '8 times parallel', description: 'requests per model that may wait for a free slot before the daemon answers 503', parse: (raw, name) => parseCount(raw, name, 0) }),
  define({ name: 'MURMUR_MAX_LOADED', key: 'maxLoaded', shown: '4', description: 'models kept loaded before the least recently used is unloaded (voice-activity models do not count; models loaded with keep-alive -1 are never unloaded for room)', parse: positiveInt }),
  define({ name: 'MURMUR_MAX_MEMORY', key: 'maxMemoryBytes', shown: 'free memory at start less a tenth of the total (at least 1G)', description: 'memory loaded models may hold (8G, 512M, off) before the least recently used idle ones are unloaded to make room', parse: parseBytes }),
  define({ name: 'MURMUR_LOG_FORMAT', key: 'logFormat', shown: 'json, or pretty on a terminal', description: "the daemon's log on stderr: json (one object a line) or pretty", parse: parseLogFormat }),
  define({ name: 'MURMUR_CORS', key: 'cors', shown: 'off', description: "comma-separated origins the daemon allows ('*' for any)", parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean) }),
  define({ name: 'MURMUR_CHAT_MODEL', key: 'chatModel', shown: 'catalog default', description: 'the model chat uses when none is named', parse: (raw) => raw.trim() }),
  define({ name: 'MURMUR_ALLOWED_HOSTS', key: 'allowedHosts', shown: 'loopback names', description: "comma-separated host names the daemon answers to besides localhost and loopback addresses ('*' for any)", parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean) }),
  define({ name: 'MURMUR_PULL_HOSTS', key: 'pullHosts', shown: "the catalog's hosts", description: "comma-separated hosts the daemon's /api/pull may download from besides the catalog's ('*' for any public host)", parse: (raw) => raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) }),
  define({ name: 'MURMUR_IMPORT_DIRS', key: 'importDirs', shown: 'none', description: "comma-separated directories the daemon's /api/pull may import local models from", parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean).map((d) => resolve(d)) }),
  define({ name: 'MURMUR_TTS_MODEL', key: 'ttsModel', shown: 'catalog default', description: "the voice model speak and chat --speak use, and that answers OpenAI's tts-1, tts-1-hd and gpt-4o-mini-tts", parse: (raw) => raw.trim() }),
  define({ name: 'MURMUR_ASR_MODEL', key: 'asrModel', shown: 'catalog default', description: "the model transcribe uses, and that answers OpenAI's whisper-1, gpt-4o-transcribe and gpt-4o-mini-transcribe", parse: (raw) => raw.trim() }),
  define({ name: 'MURMUR_VOICE', key: 'voice', shown: "the model's default", description: 'the voice used when none is given or an OpenAI voice name (alloy, nova, ...) is asked for', parse: (raw) => raw.trim() }),
  define({ name: 'MURMUR_SPEECH_SESSION_IDLE', key: 'speechSessionIdleMs', shown: '60s', description: 'how long a speech session lives with no input and no reader', parse: (raw, name) => Math.max(1, parseDuration(raw, name)) }),
  define({ name: 'MURMUR_MAX_REALTIME', key: 'maxRealtimeSessions', shown: '16', description: 'realtime (/v1/realtime) sessions the daemon holds at once before refusing more', parse: positiveInt }),
  define({ name: 'MURMUR_MAX_SPEECH_SESSIONS', key: 'maxSpeechSessions', shown: '64', description: 'speech sessions the daemon keeps open at once before answering 503', parse: positiveInt }),
  define({ name: 'MURMUR_TLS_CERT', key: 'tlsCert', shown: 'unset', description: 'a PEM certificate file; with MURMUR_TLS_KEY the daemon serves HTTPS and WSS (which the official realtime clients need) on its port', parse: (raw) => resolve(raw) }),
  define({ name: 'MURMUR_TLS_KEY', key: 'tlsKey', shown: 'unset', description: "the certificate's PEM private key file", parse: (raw) => resolve(raw) }),
  define({ name: 'MURMUR_OLLAMA_PORT', key: 'ollamaPort', shown: 'unset', description: `a second port serve also listens on, at the same address and with every route, for clients that hard-code Ollama's (${OLLAMA_PORT}); 0 picks a free one`, parse: parsePort }),
  define({ name: 'MURMUR_ISOLATION', key: 'isolation', shown: 'process for serve, none otherwise', description: 'process runs each loaded model in an engine process of its own, so a crash fails only its requests; none runs engines in murmur\'s process', parse: parseIsolation }),
  define({ name: 'MURMUR_ENGINE_TIMEOUT', key: 'engineTimeoutMs', shown: '30s', description: 'how long an engine process may stop answering, or sit idle on a request, before it is restarted', parse: parseEngineTimeout }),
  define({ name: 'MURMUR_RESPONSES_MAX', key: 'responsesMax', shown: '10000', description: 'stored /v1/responses responses kept (in MURMUR_HOME/responses.db) before the oldest are deleted', parse: positiveInt }),
  define({ name: 'MURMUR_RESPONSES_TTL', key: 'responsesTtlMs', shown: '30d', description: 'how long a stored /v1/responses response is kept (-1 for no age limit)', parse: parseResponsesTtl }),
  define({ name: 'MURMUR_WEB', key: 'web', shown: 'on', description: "whether serve serves the browser page at / (0 or off turns it off, as --no-web does)", parse: flag }),
  define({ name: 'MURMUR_DEBUG', key: 'debug', shown: 'off', description: 'print stack traces and engine logs', parse: flag }),
];

/** Physical cores (hyper-threads counted once) on Linux; the logical count elsewhere. */
export const physicalCores = (): number => {
  try {
    const cores = new Set<string>();
    let physical = '';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [key, value] = line.split(':').map((part) => part?.trim());
      if (key === 'physical id') physical = value ?? '';
      if (key === 'core id') cores.add(`${physical}/${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux, or /proc is hidden: fall through
  }
  return availableParallelism();
};

/**
 * llama.cpp's threads spin while they wait for each other, so a thread per
 * logical CPU (node-llama-cpp's default) starves Node's own thread and
 * collapses under any other load: on a 2-core machine 4 threads decoded
 * 1.8 tokens/s where 1 decoded ~2000. One thread per physical core, less one
 * left for Node's event loop (HTTP, streaming, tokenizing), at least one.
 */
export const defaultThreads = (): number => Math.max(1, physicalCores() - 1);

const defaults = (): Config => ({
  home: join(homedir(), '.murmur'),
  host: `http://127.0.0.1:${DEFAULT_PORT}`,
  debug: false,
  gpu: 'auto',
  threads: defaultThreads(),
  keepAliveMs: 5 * 60_000,
  parallel: 4,
  // The voice loop holds four at once (chat, recognizer, VAD, voice): with 3, each turn evicted and reloaded the chat model.
  maxLoaded: 4,
  cors: [],
  allowedHosts: [],
  pullHosts: [],
  importDirs: [],
  speechSessionIdleMs: 60_000,
  maxSpeechSessions: 64,
  maxRealtimeSessions: 16,
  engineTimeoutMs: 30_000,
  responsesMax: 10_000,
  responsesTtlMs: 30 * 86_400_000,
  upstreams: [],
  routes: [],
  keys: [],
});

/**
 * Reads every MURMUR_* variable from `env` once, then applies `overrides`
 * (from command-line flags), and returns a frozen Config.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config => {
  const config: Record<string, unknown> = { ...defaults() };
  for (const variable of variables) {
    const raw = env[variable.name];
    if (raw !== undefined && raw !== '') config[variable.key] = variable.parse(raw, variable.name);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) config[key] = value;
  }
  return Object.freeze(config) as unknown as Config;
};

/** The variables as aligned text lines, for `--help` footers. */
export const describeVariables = (): string => {
  const width = Math.max(...variables.map((v) => v.name.length));
  return variables.map((v) => `  ${v.name.padEnd(width)}  ${v.description} (default: ${v.shown})`).join('\n');
};
