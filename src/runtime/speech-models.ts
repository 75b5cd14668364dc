import type { Catalog } from '../catalog/catalog.js';
import { pickDefaultModel, type DefaultChoice, type DefaultRole } from '../catalog/default-model.js';
import { defaultRoleKinds } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Store } from '../store/types.js';

/**
 * Which speech model answers a request: OpenAI's model names (`tts-1`,
 * `whisper-1`, …) and an absent model both mean "the default of that kind",
 * as in Kokoro-FastAPI and speaches. One place, so the daemon's routes and
 * the CLI's `--model tts-1` agree.
 */

export type SpeechKind = 'tts' | 'asr';

/** OpenAI's text-to-speech model names, answered by the default tts model. */
export const OPENAI_TTS_MODELS: readonly string[] = ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'];

/** OpenAI's speech-to-text model names, answered by the default asr model. */
export const OPENAI_ASR_MODELS: readonly string[] = ['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe'];

const aliasesOf: Record<SpeechKind, readonly string[]> = { tts: OPENAI_TTS_MODELS, asr: OPENAI_ASR_MODELS };
const labelOf: Record<SpeechKind, string> = { tts: 'text-to-speech', asr: 'speech-to-text' };
const fallbackPull: Record<SpeechKind, string> = { tts: 'piper', asr: 'whisper-tiny.en' };

/** True when `name` is one of OpenAI's model names for `kind` (any case). */
export const isOpenAiSpeechModel = (kind: SpeechKind, name: string): boolean => aliasesOf[kind].includes(name.trim().toLowerCase());

/** The kind `name` is one of OpenAI's speech model names for, if it is one. */
export const openAiSpeechKind = (name: string): SpeechKind | undefined =>
  isOpenAiSpeechModel('tts', name) ? 'tts' : isOpenAiSpeechModel('asr', name) ? 'asr' : undefined;

/** What resolveSpeechModel needs: the config (MURMUR_TTS_MODEL / MURMUR_ASR_MODEL), the store and the runtime's catalog. */
export interface SpeechModelDeps {
  readonly config: Pick<Config, 'catalog' | 'chatModel' | 'ttsModel' | 'asrModel'>;
  readonly store: Pick<Store, 'list' | 'get'>;
  /** The runtime's catalog, parsed once; read from config.catalog when absent. */
  readonly catalog?: () => Promise<Pick<Catalog, 'defaultFor'>>;
}

const configuredFor = (config: SpeechModelDeps['config'], role: DefaultRole): string | undefined =>
  role === 'chat' ? config.chatModel : role === 'tts' ? config.ttsModel : role === 'asr' ? config.asrModel : undefined;

/** The default model of `role` among the installed ones, by the one rule (catalog/default-model.ts). */
export const defaultModelOf = async (deps: SpeechModelDeps, role: DefaultRole): Promise<DefaultChoice | undefined> => {
  const catalog = deps.catalog ? await deps.catalog() : await (await import('../catalog/catalog.js')).loadCatalog({ userPath: deps.config.catalog });
  const kind = defaultRoleKinds[role];
  return pickDefaultModel({
    configured: configuredFor(deps.config, role),
    catalogDefault: catalog.defaultFor(role)?.name,
    installed: (await deps.store.list()).filter((m) => m.kind === kind),
  });
};

/**
 * The model of `kind` that answers for `name`:
 * - an installed model with that exact name (or alias) is itself;
 * - another name that is not OpenAI's is passed on unchanged (the store's
 *   error then says it is unknown or not downloaded);
 * - no name, or one of OpenAI's (`tts-1`, `whisper-1`, …): the configured
 *   default (MURMUR_TTS_MODEL / MURMUR_ASR_MODEL), else the catalog's
 *   default when installed, else the earliest installed model of the kind.
 * With nothing installed, no name gives the catalog default's name (so the
 * error that follows says to pull it) and an OpenAI name throws
 * AppError('model_not_found') with a hint naming `murmur pull <default>`.
 */
export const resolveSpeechModel = async (deps: SpeechModelDeps, kind: SpeechKind, name?: string): Promise<string> => {
  const asked = name?.trim() || undefined;
  if (asked) {
    const found = await deps.store.get(asked);
    if (found) return found.name;
    if (!isOpenAiSpeechModel(kind, asked)) return asked;
  }
  const chosen = await defaultModelOf(deps, kind);
  if (chosen?.installed || chosen?.why === 'configured') return chosen.name;
  const named = chosen?.name;
  const pull = `murmur pull ${named ?? fallbackPull[kind]}`;
  if (asked) {
    throw new AppError('model_not_found', `No ${labelOf[kind]} model is installed to answer for '${asked}'.`, { hint: `Run \`${pull}\`.`, param: 'model' });
  }
  if (named) return named;
  throw new AppError('invalid_request', `No ${labelOf[kind]} model is installed and the catalog names no default.`, { hint: `Run \`${pull}\`.`, param: 'model' });
};
