import { AppError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';

/** Whisper's language codes (ISO 639-1, plus haw and yue), in its tokenizer's order. */
export const WHISPER_LANGUAGES: readonly string[] = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn ' +
  'sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my ' +
  'bo tl mg as tt haw ln ha ba jw su yue'
).split(' ');

/** SenseVoice's choices ('auto' detects). */
export const SENSE_VOICE_LANGUAGES: readonly string[] = ['auto', 'zh', 'en', 'ja', 'ko', 'yue'];

/** True for English-only whisper checkpoints (tiny.en, base.en, …). */
const englishOnly = (model: InstalledModel): boolean =>
  (model.languages?.length === 1 && model.languages[0] === 'en') || /\.en([-_.]|$)/.test(model.layout.encoder ?? model.name);

/**
 * The language codes a model accepts for `language`, or undefined when it
 * takes no language setting (any known code is then accepted and ignored).
 */
export const allowedLanguages = (model: InstalledModel): readonly string[] | undefined => {
  if (model.family === 'whisper') return englishOnly(model) ? ['en'] : WHISPER_LANGUAGES;
  if (model.family === 'sense-voice') return SENSE_VOICE_LANGUAGES;
  const declared = (model.languages ?? []).filter((l) => l !== 'multi');
  return declared.length ? declared : undefined;
};

const listed = (codes: readonly string[]): string => (codes.length > 12 ? `${codes.slice(0, 12).join(', ')}, … (${codes.length} in all)` : codes.join(', '));

/**
 * Checks `language` against what `model` accepts and returns it normalized
 * (lower case, trimmed), or undefined when none was asked for. Throws
 * AppError('invalid_request', param 'language') naming the accepted codes.
 */
export const checkLanguage = (model: InstalledModel, allowed: readonly string[] | undefined, language: string | undefined): string | undefined => {
  const code = language?.trim().toLowerCase();
  if (!code) return undefined;
  const known = allowed ?? WHISPER_LANGUAGES;
  if (known.includes(code) || (model.family !== 'sense-voice' && code === 'auto')) return code;
  const what = allowed ? `'${model.name}' accepts ${listed(allowed)}` : `'${model.name}' takes no language setting; a language, if given, must be an ISO 639-1 code such as en or de`;
  throw new AppError('invalid_request', `Unknown language code '${language}': ${what}.`, { param: 'language', hint: 'Leave the language out to let the model decide.' });
};
