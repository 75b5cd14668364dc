import { AppError, DownloadError } from '../errors.js';
import { UnreachableError } from './mirror.js';

interface Unrecognised {
  /** The files found, listed. */
  readonly found: string;
  /** Each layout tried and what it needs. */
  readonly tried: string;
  /** Whether any file looked like a model's (.onnx, .ort, .gguf). */
  readonly modelFiles: boolean;
}

/** What an unrecognised folder held (detect-family.ts's UNRECOGNISED), or undefined for any other error. */
const unrecognised = (error: unknown): Unrecognised | undefined => (error as Record<symbol, Unrecognised | undefined>)[Symbol.for('murmur.unrecognised')];

/** What murmur can install, in one line (README's "Pulling" names the same). */
export const RECOGNISED =
  'GGUF files (.gguf), and sherpa-onnx model folders or .tar.bz2 archives (Piper/VITS, Kokoro, Kitten, Matcha, Whisper, Moonshine, SenseVoice, Paraformer, transducers, NeMo CTC, TDNN, Silero and TEN VAD)';

/**
 * A recognition error as the user should read it: about what they named
 * (`what`: their path, URL or model name), never the store's staging
 * directory. "Nothing here is a model" becomes one line saying what murmur
 * recognises, with a hint; what each layout needs is added only for a
 * folder that holds model files (one missing a part), and stays in the
 * cause otherwise.
 */
export const nameTheSource = (error: unknown, staging: string, what: string, single: boolean): unknown => {
  if (!(error instanceof AppError)) return error;
  const found = unrecognised(error);
  if (found !== undefined) {
    // A folder with model files that fit no layout is likely one missing a part: then what each layout needs is worth reading.
    const needs = !single && found.modelFiles ? ` What each layout needs: ${found.tried}.` : '';
    return new AppError('not_supported', `${what} is not a model murmur recognises${single ? '' : ` (it holds ${found.found})`}: murmur installs ${RECOGNISED}.${needs}`, {
      hint: 'Name a .gguf file or a model\'s folder as its archive unpacks (`murmur pull ./model.gguf --name NAME`), or a catalog model (`murmur list --all`).',
      param: 'model',
      cause: error,
    });
  }
  if (!error.message.includes(staging)) return error;
  const renamed = new AppError(error.code, error.message.split(staging).join(what), { hint: error.hint, param: error.param, cause: error });
  return renamed;
};

/** Bytes a partial download holds, for the hint below. */
export type PartialBytes = () => Promise<number>;

/**
 * A host that could not be reached, said with the model it was for and the
 * ways forward: the network, a mirror, or importing a copy one has. Resuming
 * is mentioned only when the partial holds bytes. `daemon`: the pull was
 * asked over HTTP, so the mirror to set is the daemon's.
 */
export const unreachable = async (error: unknown, model: string, mirrored: boolean, gguf: boolean, have: PartialBytes, daemon = false): Promise<unknown> => {
  if (!(error instanceof UnreachableError)) return error;
  const bytes = await have().catch(() => 0);
  const via = mirrored ? ' (MURMUR_MIRROR)' : '';
  const copy = `\`murmur pull ${gguf ? './model.gguf' : './model-folder'} --name ${model}\``;
  const hint = bytes > 0
    ? `Check the network${mirrored ? ' and the mirror' : ''} and run the same pull again: it resumes where it stopped.`
    : mirrored
      ? `Check that the mirror MURMUR_MIRROR names is up; or import a copy you have: ${copy}.`
      : daemon
        // The daemon downloads (a pull asked over HTTP): its MURMUR_MIRROR is the one that counts, not the client's.
        ? `Check the daemon's network; or set MURMUR_MIRROR where \`murmur serve\` runs, to a mirror that holds the file; or import a copy you have: ${copy}.`
        : `Check the network; or set MURMUR_MIRROR to a mirror that holds the file; or import a copy you have: ${copy}.`;
  return new DownloadError(`Could not reach ${error.host}${via} to download ${model}: ${error.reason}.`, { hint, cause: error });
};
