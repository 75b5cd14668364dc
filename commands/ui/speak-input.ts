import type { Readable } from 'node:stream';
import { abortReason } from '../../src/errors.js';
import { MAX_APPEND_CHARACTERS, type SpeechSession } from '../../src/runtime/speech-session.js';

/** Appends `text` in pieces a session takes (a pipe hands over 64 KiB at once, more than one append may carry). */
const appendAll = (session: SpeechSession, text: string): void => {
  for (let at = 0; at < text.length; at += MAX_APPEND_CHARACTERS) session.append(text.slice(at, at + MAX_APPEND_CHARACTERS));
};

/**
 * Feeds `murmur speak`'s text into a speech session: the argument at once,
 * or stdin as it arrives (the session speaks each sentence, and each line,
 * as soon as it is complete, so `tail -f log | murmur speak` speaks every
 * line as it comes). Closes the session at the end of the input; a read
 * error cancels it and is thrown, as `signal`'s reason once it fires.
 */
export const feedSession = async (session: SpeechSession, source: string | Readable, signal?: AbortSignal): Promise<void> => {
  if (typeof source === 'string') {
    appendAll(session, source);
    session.close();
    return;
  }
  // Ctrl-C stops the reading too: a pipe that stays open (`tail -f`) would otherwise keep murmur waiting.
  const stop = () => source.destroy();
  signal?.addEventListener('abort', stop, { once: true });
  source.setEncoding('utf8');
  try {
    for await (const chunk of source as AsyncIterable<string>) appendAll(session, chunk);
    session.close();
  } catch (error) {
    session.cancel();
    throw signal?.aborted ? abortReason(signal) : error;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
};
