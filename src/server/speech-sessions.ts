import { createHash, randomBytes } from 'node:crypto';
import type { SessionPlan } from '../api/murmur/speech-sessions.js';
import { AppError } from '../errors.js';
import type { SpeechSession } from '../runtime/speech-session.js';
import type { Runtime } from '../runtime/types.js';

/**
 * The daemon's open speech sessions (the HTTP door's state; the sessions
 * themselves are the core's): unguessable ids, the key that made each one,
 * one reader at a time, idle expiry and a bound on how many are open.
 */

export interface SessionEntry {
  readonly id: string;
  /** A hash of the bearer key that made it; undefined when the daemon has no key. */
  readonly owner?: string;
  readonly plan: SessionPlan;
  readonly session: SpeechSession;
  /** A reader is streaming its audio now. */
  reading: boolean;
  /** Its audio has been read (or is being read): a second reader is refused. */
  read: boolean;
  /** When it expires if it stays idle, in ms since the epoch. */
  expiresAt: number;
  timer?: NodeJS.Timeout;
}

export interface SessionRegistryOptions {
  readonly idleMs: number;
  readonly maxSessions: number;
  /** Fires on shutdown: every session is cancelled. */
  readonly shutdown: AbortSignal;
}

export interface SessionRegistry {
  /** Opens a session for `owner`; AppError('overloaded') when too many are open. */
  create(runtime: Runtime, plan: SessionPlan, owner: string | undefined): Promise<SessionEntry>;
  /** The session `id` of `owner`; AppError('session_not_found') otherwise (another key's session is not found either). */
  get(id: string, owner: string | undefined): SessionEntry;
  /** Input arrived or a reader came or went: the idle clock starts again (and stops while a reader is attached). */
  touch(entry: SessionEntry): void;
  /** When `entry` expires if it stays idle (ms since the epoch); with a reader attached, never while it stays: idle time counts from now. */
  expiresAt(entry: SessionEntry): number;
  /** Sessions not yet ended. */
  readonly open: number;
}

/** The owner of a request: a hash of its bearer key (never the key itself). */
export const ownerOf = (authorization: string | undefined): string | undefined => {
  const key = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '')?.[1];
  return key ? createHash('sha256').update(key).digest('base64url') : undefined;
};

const ended = (entry: SessionEntry) => ['done', 'cancelled', 'failed'].includes(entry.session.progress().state);

export const createSessionRegistry = (options: SessionRegistryOptions): SessionRegistry => {
  const entries = new Map<string, SessionEntry>();

  const expire = (entry: SessionEntry) => {
    clearTimeout(entry.timer);
    entry.session.cancel();
    entries.delete(entry.id);
  };

  const touch = (entry: SessionEntry) => {
    clearTimeout(entry.timer);
    entry.expiresAt = Date.now() + options.idleMs;
    if (entry.reading) return;
    entry.timer = setTimeout(() => expire(entry), options.idleMs);
    entry.timer.unref();
  };

  options.shutdown.addEventListener('abort', () => [...entries.values()].forEach(expire), { once: true });

  return {
    get open() {
      return [...entries.values()].filter((entry) => !ended(entry)).length;
    },
    async create(runtime, plan, owner) {
      const open = [...entries.values()].filter((entry) => !ended(entry)).length;
      if (open >= options.maxSessions) {
        throw new AppError('overloaded', `${open} speech sessions are open; the daemon keeps at most ${options.maxSessions}.`, {
          hint: 'Close sessions you no longer need, or raise MURMUR_MAX_SPEECH_SESSIONS.',
        });
      }
      const session = await runtime.openSpeech({ model: plan.model, voice: plan.voice, speed: plan.speed, signal: options.shutdown });
      const entry: SessionEntry = { id: `spsess_${randomBytes(18).toString('base64url')}`, owner, plan, session, reading: false, read: false, expiresAt: 0 };
      entries.set(entry.id, entry);
      touch(entry);
      return entry;
    },
    get(id, owner) {
      const entry = entries.get(id);
      if (!entry || entry.owner !== owner) {
        throw new AppError('session_not_found', `No speech session '${id}'.`, { param: 'session_id', hint: 'It may have expired after being idle; open a new one.' });
      }
      return entry;
    },
    touch,
    expiresAt: (entry) => (entry.reading ? Date.now() + options.idleMs : entry.expiresAt),
  };
};
