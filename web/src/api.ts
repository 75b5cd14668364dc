/*
 * The page's one way to the daemon: the same public API every other client
 * uses, with the API key (when one is set) as the bearer header. Errors come
 * back as ApiError with the daemon's message and hint; a 401 also tells the
 * shell to ask for the key again.
 */

const KEY = 'murmur.apiKey';

export const apiKey = (): string => localStorage.getItem(KEY) ?? '';
export const setApiKey = (key: string): void => {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const unauthorized = new Set<() => void>();
/** Calls `listener` whenever the daemon refuses the key; returns the unsubscribe. */
export const onUnauthorized = (listener: () => void): (() => void) => {
  unauthorized.add(listener);
  return () => unauthorized.delete(listener);
};

export const authHeaders = (): Record<string, string> => (apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {});

/** The daemon's error body ({error: {message, hint, code}}, or Ollama's {error}) as an ApiError. */
const errorOf = async (res: Response): Promise<ApiError> => {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string; hint?: string; code?: string } | string };
    if (typeof body.error === 'string') return new ApiError(body.error, res.status);
    if (body.error?.message) return new ApiError(body.error.message, res.status, body.error.code, body.error.hint);
  } catch {
    /* not JSON: said below */
  }
  return new ApiError(`The daemon answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}.`, res.status);
};

/** fetch with the key; a refusal throws ApiError, an unreachable daemon too (status 0). */
export const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(`The daemon does not answer at ${location.origin}.`, 0, 'unreachable', 'Is murmur serve still running? The page tries again when you do.');
  }
  if (res.ok) return res;
  const error = await errorOf(res);
  if (res.status === 401) unauthorized.forEach((listener) => listener());
  throw error;
};

export const getJson = async <T>(path: string, signal?: AbortSignal): Promise<T> => (await request(path, { signal })).json() as Promise<T>;

export const postJson = (path: string, body: unknown, signal?: AbortSignal): Promise<Response> =>
  request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });

/** The lines of a streamed body, as they arrive. */
async function* lines(res: Response): AsyncGenerator<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let held = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    held += value;
    let at: number;
    while ((at = held.indexOf('\n')) >= 0) {
      yield held.slice(0, at).replace(/\r$/, '');
      held = held.slice(at + 1);
    }
  }
  if (held) yield held;
}

/** The `data:` payloads of a server-sent event stream ([DONE] ends it). */
export async function* sseData(res: Response): AsyncGenerator<string> {
  for await (const line of lines(res)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') return;
    yield data;
  }
}

/** The objects of an NDJSON stream. */
export async function* ndjson<T>(res: Response): AsyncGenerator<T> {
  for await (const line of lines(res)) if (line.trim()) yield JSON.parse(line) as T;
}

/** A model as /murmur/v1/models lists it (the fields the page reads). */
export interface ModelInfo {
  readonly name: string;
  readonly kind: 'llm' | 'embedding' | 'tts' | 'asr' | 'vad';
  readonly size?: number;
  readonly description?: string;
  readonly languages?: readonly string[];
  readonly voices?: readonly { readonly name: string; readonly language?: string }[];
  readonly defaultVoice?: string;
  readonly broken?: string;
}

export const listModels = async (signal?: AbortSignal): Promise<ModelInfo[]> => (await getJson<{ models: ModelInfo[] }>('/murmur/v1/models', signal)).models;

/** Bytes in decimal units, as the CLI writes them. */
export const formatBytes = (bytes: number): string => {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 || value >= 100 ? Math.round(value) : value.toFixed(value >= 10 ? 1 : 2)} ${units[unit]}`;
};
