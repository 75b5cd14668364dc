import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';

/**
 * `murmur chat --speak`: the reply is said aloud as it streams. Tokens go
 * through the sentence splitter; each complete sentence is synthesized in
 * order (one at a time, so audio never overtakes text) and played through
 * the same speaker sink `murmur speak` uses, fed continuously so sentences
 * follow with no gap.
 */
export interface SpokenReply {
  /** Adds generated text; complete sentences are queued for speech at once. */
  push(text: string): void;
  /** Speaks what is left, waits until everything has been played, then closes the device. */
  end(): Promise<void>;
  /** Stops speaking at once. */
  abort(): Promise<void>;
}

/**
 * Opens the speakers and a speech session (which picks the voice model:
 * MURMUR_TTS_MODEL, else the default voice model), before anything is
 * generated: no output device (the same error as `murmur speak`) or no
 * voice model fails here. The session splits the streamed reply into
 * sentences and speaks them in order; this only plays what it makes.
 */
export const openSpokenReply = async (ctx: CommandContext, runtime: Runtime): Promise<SpokenReply> => {
  const { openSink } = await import('./speak-output.js');
  const sink = await openSink({ kind: 'speakers' }, ctx.stdout).catch(async (error: unknown) => {
    const { AppError } = await import('../../src/errors.js');
    if (!(error instanceof AppError) || error.code !== 'not_supported') throw error;
    // speak's own message; a hint that fits chat, which has no -o.
    throw new AppError(error.code, error.message, { hint: 'Drop --speak, or pipe the answer to a file: `murmur chat MODEL "…" | murmur speak -o speech.wav`.', cause: error });
  });
  let session: Awaited<ReturnType<Runtime['openSpeech']>>;
  try {
    session = await runtime.openSpeech({ signal: ctx.signal });
  } catch (error) {
    await sink.abort();
    throw error;
  }
  const played = (async () => {
    for await (const chunk of session) sink.write(chunk.samples, chunk.sampleRate);
  })();
  // Kept, not left unhandled: end() reports the failure.
  played.catch(() => undefined);
  let stopped = false;

  return {
    push: (text) => {
      if (!stopped) session.append(text);
    },
    async end() {
      if (stopped) return;
      stopped = true;
      session.close();
      try {
        await played;
      } catch (error) {
        await sink.abort();
        throw error;
      }
      await sink.end();
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      session.cancel();
      await sink.abort();
      await played.catch(() => undefined);
    },
  };
};
