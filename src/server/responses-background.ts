import { cancelResponse, completeResponse, failResponse, type ResponseObject } from '../api/openai/responses-response.js';
import { AppError } from '../errors.js';
import type { GenerationResult } from '../types/chat.js';
import type { ResponseStore } from './responses-store.js';

/*
 * Background responses (`background: true`): stored at once as queued,
 * answered, then run detached from the request: in_progress, then
 * completed, incomplete, failed or cancelled, each step written to the
 * store, where GET reads it. The runs in flight are held here so that
 * cancel (and delete) can stop them; the daemon's shutdown fails them.
 */

interface Run {
  readonly owner: string | null;
  readonly controller: AbortController;
  /** The response as the run left it. */
  readonly settled: Promise<ResponseObject>;
}

export interface BackgroundRuns {
  /** Starts `shell` (stored already, queued) running `chat`; `record` hears how the generation ended. */
  start(shell: ResponseObject, owner: string | null, chat: (signal: AbortSignal) => Promise<GenerationResult>, record: (result: GenerationResult | undefined, error?: unknown) => void): void;
  /** Stops `owner`'s run of `id` and resolves with the cancelled response; undefined when no such run is in flight. */
  cancel(id: string, owner: string | null): Promise<ResponseObject> | undefined;
  /** Resolves once every run in flight has settled. */
  settled(): Promise<void>;
}

/** The background runs of one app; `shutdown` fails those still running. */
export const createBackgroundRuns = (store: ResponseStore, shutdown: AbortSignal): BackgroundRuns => {
  const runs = new Map<string, Run>();
  // The store may be failing meanwhile (a full disk): the run goes on, and a daemon restarted later marks what it left as failed.
  const save = (response: ResponseObject) => {
    try {
      store.update(response);
    } catch {
      /* see above */
    }
  };
  return {
    start: (shell, owner, chat, record) => {
      const controller = new AbortController();
      const signal = AbortSignal.any([controller.signal, shutdown]);
      const running: ResponseObject = { ...shell, status: 'in_progress' };
      const settled = (async (): Promise<ResponseObject> => {
        // Let the request that made it answer (queued) before the run moves on.
        await new Promise((resolve) => setImmediate(resolve));
        save(running);
        let final: ResponseObject;
        try {
          const result = await chat(signal);
          record(result);
          final = completeResponse(running, result);
        } catch (error) {
          record(undefined, error);
          if (controller.signal.aborted) final = cancelResponse(running);
          else if (shutdown.aborted) final = failResponse(running, new AppError('stopping', 'The daemon shut down before this response finished.'));
          else final = failResponse(running, error);
        }
        save(final);
        runs.delete(shell.id);
        return final;
      })();
      runs.set(shell.id, { owner, controller, settled });
    },
    cancel: (id, owner) => {
      const run = runs.get(id);
      if (!run || run.owner !== owner) return undefined;
      run.controller.abort(new DOMException('The response was cancelled', 'AbortError'));
      return run.settled;
    },
    settled: async () => {
      await Promise.allSettled([...runs.values()].map((run) => run.settled));
    },
  };
};
