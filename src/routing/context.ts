import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which upstream a request went to, for its log line, wherever in the
 * request the routing happened (the OpenAI door's pass-through, or the
 * routing runtime under Anthropic's, Ollama's or any other door): the
 * server runs each request inside `trackUpstream`, and the router notes
 * each replica it tries.
 */
const current = new AsyncLocalStorage<{ upstream?: string }>();

/** Runs `fn` with `note` as the place for the upstream of the request it serves (set even when `fn` throws). */
export const trackUpstream = <T>(note: { upstream?: string }, fn: () => Promise<T>): Promise<T> => current.run(note, fn);

/** Notes the replica a routed request is being tried on (the last one noted is the one logged). */
export const noteUpstream = (name: string): void => {
  const note = current.getStore();
  if (note) note.upstream = name;
};
