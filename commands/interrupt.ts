import { AppError, isAbortError } from '../src/errors.js';

/** The one line every verb prints when Ctrl-C (SIGINT) or SIGTERM stops it; it then exits 130. */
export const INTERRUPTED = 'murmur: interrupted';

/** The error a command throws when an interrupt stops it: reportError prints INTERRUPTED (then the hint, if any) and exits 130. */
export const interrupted = (cause?: unknown, hint?: string): AppError => new AppError('aborted', 'interrupted', { cause, ...(hint ? { hint } : {}) });

/** True for what an interrupt throws: an AbortError, or an AppError('aborted'). */
export const isInterrupt = (error: unknown): boolean => isAbortError(error);
