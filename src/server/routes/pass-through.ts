import type { MiddlewareHandler } from 'hono';
import { AppError, isAbortError, RateLimitedError } from '../../errors.js';
import { fromErrorBody, isOpenAIErrorBody, toOpenAIError } from '../../api/openai/errors.js';
import type { Routing } from '../../routing/router.js';
import type { IncomingMessage } from 'node:http';
import { fromUpstream } from '../../routing/refusal.js';
import { bodyStream, readBody, UpstreamRetryable, type Upstream } from '../../routing/upstream.js';
import { requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { SSE_HEADERS, sseFrame } from '../sse.js';

/**
 * The OpenAI door's JSON routes for a routed model: the body goes upstream
 * as the client sent it (only `model` renamed, when the route renames), and
 * the answer comes back as the upstream sent it, a stream chunk by chunk
 * as it arrives. So fields murmur does not know (vLLM's guided decoding,
 * llama-server's own samplers) reach the upstream untouched. Before the
 * first byte a failing replica hands the request to the next (see
 * router.ts); after it, a dropped stream ends with an error frame. A client
 * that goes away cancels the upstream request.
 *
 * Everything else (Anthropic's and Ollama's doors, /v1/responses, audio
 * uploads, the realtime loop) reaches routed models through the routing
 * runtime instead, in murmur's own request types.
 */

/** The paths passed through, as the client asks them (under /v1), and whether a 2xx answer must be JSON. */
const PASSED: ReadonlyMap<string, { readonly json: boolean }> = new Map([
  ['/v1/chat/completions', { json: true }],
  ['/v1/completions', { json: true }],
  ['/v1/embeddings', { json: true }],
  ['/v1/audio/speech', { json: false }],
]);

const utf8 = new TextDecoder();

/** Headers of the upstream's answer that go on to the client: what the body is, and nothing hop-by-hop or of its own transfer. */
const answerHeaders = (incoming: IncomingMessage, upstream: Upstream): Record<string, string> => {
  const headers: Record<string, string> = { 'X-Murmur-Upstream': upstream.spec.name };
  for (const name of ['content-type', 'content-disposition', 'cache-control', 'x-murmur-model']) {
    const value = header(incoming, name);
    if (value) headers[name] = value;
  }
  return headers;
};

/** Prompt and completion tokens from an OpenAI `usage` object, when it has them. */
const usageOf = (body: unknown): { prompt: number; completion: number } | undefined => {
  const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | undefined)?.usage;
  if (!usage || typeof usage !== 'object') return undefined;
  const prompt = typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : 0;
  const completion = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0;
  return { prompt, completion };
};

export interface PassThroughHooks {
  /** Told the tokens of each finished generation passed through (for metrics and the key's tokens-per-minute). */
  readonly onUsage?: (c: Parameters<MiddlewareHandler<ServerEnv>>[0], model: string, usage: { prompt: number; completion: number }, seconds: number) => void;
}

export const passThrough = (deps: RouteDeps, routing: Routing, hooks: PassThroughHooks = {}): MiddlewareHandler<ServerEnv> => async (c, next) => {
  const kind = c.req.method === 'POST' ? PASSED.get(c.req.path) : undefined;
  if (!kind) return next();
  // Read once: Hono keeps it, so a request that is not routed reads the same bytes in its own route.
  const raw = await c.req.arrayBuffer();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(utf8.decode(raw)) as Record<string, unknown>;
  } catch {
    return next();
  }
  const model = parsed && typeof parsed === 'object' && typeof parsed.model === 'string' ? parsed.model : undefined;
  const target = routing.resolve(model);
  if (!target || !model) return next();
  c.set('model', model);
  const body = target.model === model ? raw : JSON.stringify({ ...parsed, model: target.model });
  const streamed = parsed.stream === true;
  const signal = requestSignal(c, deps);
  const started = performance.now();
  const path = c.req.path.slice('/v1'.length);

  return routing.dispatchHeld(target, async (upstream, end) => {
    const incoming = await upstream.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: c.req.header('Accept') ?? '*/*' },
      body: typeof body === 'string' ? body : new Uint8Array(body),
      signal,
    });
    const status = incoming.statusCode ?? 502;
    const type = header(incoming, 'content-type') ?? '';
    const broke = (error: unknown) => {
      throw new UpstreamRetryable('upstream_error', `Upstream '${upstream.spec.name}' broke off its answer (${(error as Error).message}).`, `See the log of ${upstream.spec.url}.`, 'broke off its answer');
    };
    if (status < 200 || status >= 300) {
      // A client's mistake as the upstream saw it (400, 404, 422, 429…): its status and words, in OpenAI's shape.
      const text = await readBody(incoming).catch(() => '');
      let error: unknown;
      try {
        error = JSON.parse(text);
      } catch {
        error = { error: { message: `Upstream '${upstream.spec.name}' answered HTTP ${status}: ${text.trim().slice(0, 300) || 'no body'}.` } };
      }
      end();
      if (status === 429) {
        const wait = Number(header(incoming, 'retry-after'));
        throw new RateLimitedError(`Upstream '${upstream.spec.name}' is rate limiting (${isOpenAIErrorBody(error) ? error.error.message : 'HTTP 429'}).`, Number.isFinite(wait) && wait > 0 ? Math.ceil(wait) : 1, { hint: 'Retry after the time Retry-After says.' });
      }
      const { status: mapped, body: shaped } = toOpenAIError(fromUpstream(upstream.spec.name, fromErrorBody(status, error)));
      return c.json(shaped, (status >= 400 && status < 500 ? status : mapped) as 400, { 'X-Murmur-Upstream': upstream.spec.name });
    }
    const eventStream = type.includes('text/event-stream');
    if (!eventStream && kind.json) {
      // A whole answer: read it all (it is small), check it is the API's, count its tokens.
      const text = await readBody(incoming).catch(broke);
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        throw new UpstreamRetryable('upstream_error', `Upstream '${upstream.spec.name}' answered something that is not JSON (${type || 'no content type'}).`, `Check that ${upstream.spec.url} is an OpenAI-compatible API.`, 'answered something that is not JSON');
      }
      end();
      const usage = usageOf(answer);
      if (usage) hooks.onUsage?.(c, model, usage, (performance.now() - started) / 1000);
      return c.body(text, status as 200, answerHeaders(incoming, upstream));
    }
    if (streamed && kind.json && !eventStream) {
      incoming.destroy();
      throw new UpstreamRetryable('upstream_error', `Upstream '${upstream.spec.name}' answered a stream with ${type || 'no content type'}, not server-sent events.`, `Check that ${upstream.spec.url} is an OpenAI-compatible API.`, 'a stream that is not server-sent events');
    }
    const usage = eventStream ? (counted: { prompt: number; completion: number }) => hooks.onUsage?.(c, model, counted, (performance.now() - started) / 1000) : undefined;
    return new Response(relay(incoming, upstream, end, (why) => c.set('streamError', why), usage), {
      status,
      // Chunked said outright: @hono/node-server otherwise waits a timer's turn for more of the body before the headers go out.
      headers: eventStream ? { ...SSE_HEADERS, 'Transfer-Encoding': 'chunked', 'X-Murmur-Upstream': upstream.spec.name } : answerHeaders(incoming, upstream),
    });
  });
};

/** A response header of the upstream's, as one string. */
const header = (incoming: IncomingMessage, name: string): string | undefined => {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/**
 * The upstream's body, chunk by chunk as it comes off the socket. An SSE
 * stream is watched for its `usage` (told at the end) and, if it breaks
 * off, ends with an OpenAI error frame rather than a hang or a bare cut
 * (and the replica is taken out until it passes a check). Cancelling it
 * (the client went away) closes the upstream's.
 */
const relay = (incoming: IncomingMessage, upstream: Upstream, end: (failed?: boolean) => void, onBroken: (why: string) => void, onUsage?: (usage: { prompt: number; completion: number }) => void): ReadableStream<Uint8Array> => {
  let usage: { prompt: number; completion: number } | undefined;
  let chunks = 0;
  /** The unfinished last line of the text so far: usage is looked for in whole lines only. */
  let partial = '';
  const decoder = new TextDecoder();
  const watch = (bytes: Uint8Array) => {
    const text = partial + decoder.decode(bytes, { stream: true });
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('data: {')) continue;
      chunks += 1;
      if (line.includes('"usage":{')) {
        try {
          usage = usageOf(JSON.parse(line.slice(6))) ?? usage;
        } catch {
          // not JSON after all: the client sees it as it is
        }
      }
    }
  };
  return bodyStream(incoming, {
    ...(onUsage ? { chunk: watch } : {}),
    end: () => {
      end();
      // Without a usage chunk (the client did not ask for one), each content chunk is about one token.
      onUsage?.(usage ?? { prompt: 0, completion: Math.max(0, chunks - 2) });
    },
    fail: (error, controller) => {
      end(!isAbortError(error));
      // The client went away (or the daemon is stopping): nobody reads what would follow.
      if (isAbortError(error)) return controller.close();
      // A body that breaks off is a replica that died or dropped us: no more requests for it until it passes a check.
      upstream.markDown('dropped a stream');
      const failure = new AppError('upstream_error', `Upstream '${upstream.spec.name}' dropped the stream (${(error as { code?: string }).code ?? (error as Error).message}).`, {
        hint: 'Retry the request: a replica that is down is skipped until it answers again.',
      });
      // The request's log line says why its 200 ended early.
      onBroken(failure.message);
      if (!onUsage) return controller.error(error);
      // A blank line first ends any frame the upstream left half-written.
      controller.enqueue(new TextEncoder().encode('\n'));
      controller.enqueue(sseFrame(toOpenAIError(failure).body));
      controller.close();
    },
    cancel: () => end(),
  });
};
