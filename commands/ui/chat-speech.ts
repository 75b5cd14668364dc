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
 * The voice model chat --speak uses: MURMUR_TTS_MODEL, else the catalog's
 * default voice when installed, else the first installed voice model.
 * Throws (with a hint to pull one) when none is installed.
 */
const chooseVoiceModel = async (runtime: Runtime): Promise<string> => {
  const { resolveSpeechModel } = await import('../../src/runtime/speech-models.js');
  const store = { list: () => runtime.listModels(), get: (name: string) => runtime.getModel(name).catch(() => undefined) };
  const model = await resolveSpeechModel({ config: runtime.config, store }, 'tts');
  // Not installed: the store's error says how to pull it.
  return (await runtime.getModel(model)).name;
};

/**
 * Opens the speakers and picks the voice model, before anything is
 * generated: no output device (the same error as `murmur speak`) or no
 * voice model fails here. The voice is MURMUR_VOICE or the model's default.
 */
export const openSpokenReply = async (ctx: CommandContext, runtime: Runtime): Promise<SpokenReply> => {
  const [{ openSink }, { createSentenceSplitter }] = await Promise.all([import('./speak-output.js'), import('../../src/text/sentences.js')]);
  const sink = await openSink({ kind: 'speakers' }, ctx.stdout).catch(async (error: unknown) => {
    const { AppError } = await import('../../src/errors.js');
    if (!(error instanceof AppError) || error.code !== 'not_supported') throw error;
    // speak's own message; a hint that fits chat, which has no -o.
    throw new AppError(error.code, error.message, { hint: 'Drop --speak, or pipe the answer to a file: `murmur chat MODEL "…" | murmur speak -o speech.wav`.', cause: error });
  });
  let model: string;
  try {
    model = await chooseVoiceModel(runtime);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  const splitter = createSentenceSplitter();
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let stopped = false;

  const say = (sentences: readonly string[]) => {
    for (const sentence of sentences) {
      if (!sentence.trim()) continue;
      chain = chain
        .then(async () => {
          if (failure !== undefined || stopped) return;
          await runtime.speak({ model, text: sentence, signal: ctx.signal, onAudio: (chunk) => sink.write(chunk.samples, chunk.sampleRate) });
        })
        // Kept, not left unhandled: end() reports the first failure.
        .catch((error: unknown) => void (failure ??= error));
    }
  };

  return {
    push: (text) => say(splitter.push(text)),
    async end() {
      say(splitter.flush());
      await chain;
      if (failure !== undefined) {
        stopped = true;
        await sink.abort();
        throw failure;
      }
      stopped = true;
      await sink.end();
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      await sink.abort();
      await chain;
    },
  };
};
