import { AppError, isAbortError } from '../errors.js';
import { createRemoteRuntime } from '../client/remote-runtime.js';
import type { Routing, RouteTarget } from '../routing/router.js';
import { UpstreamRetryable, type Upstream, type UpstreamStatus } from '../routing/upstream.js';
import { fromUpstream } from '../routing/refusal.js';
import { isGlob } from '../config-routing.js';
import type { Runtime } from './types.js';

/**
 * A Runtime of two parts: routed models (Config.routes) run on upstream
 * servers, through RemoteRuntime over each upstream's own fetch (its key,
 * its timeout, the router's failover); everything else runs on `local`.
 * The doors above (Anthropic's, Ollama's, /v1/responses, the realtime
 * loop's chat model, speech sessions) work unchanged on either part. The
 * OpenAI door's JSON routes pass routed requests through as sent instead
 * (server/routes/pass-through.ts), which keeps the fields murmur does not
 * know.
 */
export const createRoutingRuntime = (local: Runtime, routing: Routing): Runtime => {
  const remotes = new Map<Upstream, Runtime>();
  /** The upstream as a RemoteRuntime: its paths under /v1 go to its base URL, murmur's own (/murmur/v1, /health) to a murmur daemon's root. */
  const remoteOf = (upstream: Upstream): Runtime => {
    let remote = remotes.get(upstream);
    if (!remote) {
      remote = createRemoteRuntime(local.config, {
        baseUrl: 'http://upstream',
        fetch: async (input, init = {}) => {
          const url = new URL(String(input));
          const path = `${url.pathname}${url.search}`;
          const sent = { method: init.method ?? 'GET', headers: (init.headers ?? {}) as Record<string, string>, body: init.body ?? undefined, signal: init.signal ?? undefined };
          if (path.startsWith('/v1/')) return upstream.fetch(path.slice(3), sent);
          if (upstream.spec.dialect === 'murmur') return upstream.fetch(path, { ...sent, fromRoot: true });
          // A plain OpenAI server has none of murmur's routes: RemoteRuntime falls back as it does against one.
          return Response.json({ error: { message: 'Not Found', type: 'invalid_request_error', code: 'unknown_url' } }, { status: 404 });
        },
      });
      remotes.set(upstream, remote);
    }
    return remote;
  };

  /**
   * Runs `call` for a routed request on its replicas: failover until the
   * first answer; an error after it (a dropped stream, a body that is not
   * the API's) is the upstream's error, never a murmur 500.
   */
  const upstreamCall = <T>(target: RouteTarget, call: (remote: Runtime, model: string, upstream: Upstream) => Promise<T>): Promise<T> =>
    routing.dispatch(target, async (upstream) => {
      try {
        return await call(remoteOf(upstream), target.model, upstream);
      } catch (error) {
        // The upstream's own refusal (a model it lacks, a bad field) is said as the upstream's.
        if (error instanceof AppError && !(error instanceof UpstreamRetryable) && error.code !== 'aborted') throw fromUpstream(upstream.spec.name, error);
        if (error instanceof AppError || isAbortError(error)) throw error;
        upstream.markDown('broke off an answer');
        throw new AppError('upstream_error', `Upstream '${upstream.spec.name}' broke off its answer (${(error as Error).message}).`, { hint: `See the log of ${upstream.spec.url}.`, cause: error });
      }
    });

  const routed = (model: string | undefined) => routing.resolve(model);
  /** A request by the model it names: upstream (renamed as its route says) when routed, else here. */
  const either = <R extends { readonly model?: string }, T>(request: R, here: (request: R) => Promise<T>, there: (remote: Runtime, request: R) => Promise<T>): Promise<T> => {
    const target = routed(request.model);
    return target ? upstreamCall(target, (remote, model) => there(remote, { ...request, model })) : here(request);
  };
  const notHere = (name: string, target: RouteTarget, what: string) =>
    new AppError('not_supported', `'${name}' is routed to upstream ${target.route.upstreams.map((u) => `'${u}'`).join(', ')}: it cannot be ${what} here.`, { hint: 'Manage it on the upstream server itself.', param: 'model' });

  const runtime: Runtime = {
    config: local.config,
    routing,
    // With what each healthy murmur upstream holds, asked now (2 s at most each): `murmur ps` shows it beside what is loaded here.
    upstreams: async () =>
      Promise.all(
        routing.status().map(async (status) => {
          const upstream = routing.upstream(status.name);
          if (!upstream || upstream.spec.dialect !== 'murmur' || !status.healthy) return status;
          try {
            const response = await upstream.fetch('/murmur/v1/ps', { fromRoot: true, signal: AbortSignal.timeout(2_000) });
            const body = (await response.json()) as { models?: UpstreamStatus['loaded'] };
            return Array.isArray(body.models) ? { ...status, loaded: body.models.map(({ name, kind, memoryBytes, inFlight, expiresAt }) => ({ name, kind, memoryBytes, inFlight, expiresAt })) } : status;
          } catch {
            return status;
          }
        }),
      ),
    async listModels() {
      const remote = routing.models();
      const names = new Set(remote.map((m) => m.name));
      // A local model a route takes is served upstream: listed once, as routed.
      return [...(await local.listModels()).filter((m) => !names.has(m.name) && !routed(m.name)), ...remote];
    },
    async getModel(name) {
      const target = routed(name);
      if (!target) return local.getModel(name);
      const listed = routing.models().find((m) => m.name === name);
      if (listed) return listed;
      // A glob routes any name; one its upstreams' listings do not have is not a model (while none has a listing, say what routes it).
      const known = routing.upstreamsOf(target.route).some((u) => u.models.length > 0);
      if (isGlob(target.route.pattern) && known) {
        throw new AppError('model_not_found', `No upstream of route '${target.route.pattern}' (${target.route.upstreams.join(', ')}) lists a model '${name}'.`, { hint: 'GET /v1/models lists what the routes serve.', param: 'model' });
      }
      return { name, kind: 'llm', upstream: target.route.upstreams.join(',') };
    },
    chat: (request) => either(request, (r) => local.chat(r), (remote, r) => remote.chat(r)),
    complete: (request) => either(request, (r) => local.complete(r), (remote, r) => remote.complete(r)),
    countTokens: (request) => either(request, (r) => local.countTokens(r), (remote, r) => remote.countTokens(r)),
    embed: (request) => either(request, (r) => local.embed(r), (remote, r) => remote.embed(r)),
    speak: (request) => either(request, (r) => local.speak(r), (remote, r) => remote.speak(r)),
    openSpeech: (options = {}) => either(options, (o) => local.openSpeech(o), (remote, o) => remote.openSpeech(o)),
    voices: async (model) => {
      const target = routed(model);
      if (target) return upstreamCall(target, async (remote, name) => (await remote.voices(name)).map((list) => ({ ...list, model: model! })));
      if (model) return local.voices(model);
      // Every voice: the local models', then each routed voice model's as its upstream lists them (one that does not answer is left out).
      const remote = routing.models().filter((m) => m.kind === 'tts');
      const lists = await Promise.all(remote.map((m) => runtime.voices(m.name).catch(() => [])));
      return [...(await local.voices()), ...lists.flat()];
    },
    transcribe: (request) => either(request, (r) => local.transcribe(r), (remote, r) => remote.transcribe(r)),
    ...(local.openListen ? { openListen: local.openListen.bind(local) } : {}),
    // Listening and speaking stay here; the replies come through this runtime, so a routed chat model answers from upstream.
    ...(local.openConversation
      ? { openConversation: (options = {}) => local.openConversation!({ ...options, chat: (request) => runtime.chat(request), ...(routed(options.model) ? { modelElsewhere: true } : {}) }) }
      : {}),
    load: async (name, options) => {
      const target = routed(name);
      if (!target) return local.load(name, options);
      // A murmur upstream loads it (keep-alive and all); any other loads what it serves itself: the model is there when it answers.
      return upstreamCall(target, async (remote, model, upstream) => {
        if (upstream.spec.dialect === 'murmur') return { ...(await remote.load(model, options)), name, upstream: upstream.spec.name };
        return { name, kind: 'llm', memoryBytes: 0, inFlight: upstream.inFlight, queued: 0, loadedAt: new Date(), expiresAt: null, upstream: upstream.spec.name, known: false };
      });
    },
    unload: async (names) => {
      if (names === 'all') return local.unload(names);
      const here = names.filter((name) => !routed(name));
      // A routed model is unloaded on each murmur replica of its route that holds it; an OpenAI upstream unloads its models itself.
      const there = await Promise.all(
        names
          .filter((name) => routed(name))
          .map(async (name) => {
            const target = routed(name)!;
            const replicas = routing.upstreamsOf(target.route).filter((u) => u.spec.dialect === 'murmur');
            const done = await Promise.allSettled(replicas.map((u) => remoteOf(u).unload([target.model])));
            // Every replica failing to answer is not "not loaded": say why.
            const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
            if (failed && done.every((d) => d.status === 'rejected')) throw failed.reason;
            return done.some((d) => d.status === 'fulfilled' && d.value.length > 0) ? [name] : [];
          }),
      );
      return [...(here.length ? await local.unload(here) : []), ...there.flat()];
    },
    ps: () => local.ps(),
    ...(local.loading ? { loading: local.loading.bind(local) } : {}),
    ...(local.engineHealth ? { engineHealth: local.engineHealth.bind(local) } : {}),
    ...(local.onEngineCrash ? { onEngineCrash: local.onEngineCrash.bind(local) } : {}),
    pull: async (ref, options) => {
      const target = routed(options?.name ?? ref);
      if (target) throw notHere(options?.name ?? ref, target, 'pulled');
      return local.pull(ref, options);
    },
    remove: async (name) => {
      const target = routed(name);
      if (target) throw notHere(name, target, 'removed');
      return local.remove(name);
    },
    copy: (source, destination) => local.copy(source, destination),
    async [Symbol.asyncDispose]() {
      routing.close();
      await local[Symbol.asyncDispose]();
    },
  };
  return runtime;
};
