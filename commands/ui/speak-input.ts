import type { Readable } from 'node:stream';
import type { SpeechSession } from '../../src/runtime/speech-session.js';

/**
 * Feeds `murmur speak`'s text into a speech session: the argument at once,
 * or stdin as it arrives (the session speaks each sentence, and each line,
 * as soon as it is complete, so `tail -f log | murmur speak` speaks every
 * line as it comes). Closes the session at the end of the input; a read
 * error cancels it and is thrown.
 */
export const feedSession = async (session: SpeechSession, source: string | Readable): Promise<void> => {
  if (typeof source === 'string') {
    session.append(source);
    session.close();
    return;
  }
  source.setEncoding('utf8');
  try {
    for await (const chunk of source as AsyncIterable<string>) session.append(chunk);
    session.close();
  } catch (error) {
    session.cancel();
    throw error;
  }
};
