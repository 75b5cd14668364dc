import type { Runtime } from '../../src/runtime/types.js';
import type { VoiceList } from '../../src/types/speech.js';
import type { CommandContext } from '../context.js';

/** A voice list as `murmur speak --voices` shows it: the catalog's speaker count, and whether the model is downloaded. */
export interface ListedVoices extends VoiceList {
  /** How many speakers the model holds (ids 0 to speakerCount-1), when it has more than it names. */
  readonly speakerCount?: number;
  /** False for a catalog model that is not downloaded (its voices come from the catalog). */
  readonly downloaded: boolean;
}

const NOT_INSTALLED = new Set(['model_not_downloaded', 'model_not_found']);

/**
 * The voices of `model` (of every installed voice model without one). A
 * catalog model that is not downloaded is listed from the catalog, so its
 * voices can be chosen before the pull, as `murmur show` does.
 */
export const findVoices = async (runtime: Runtime, model: string | undefined): Promise<ListedVoices[]> => {
  const { loadCatalog } = await import('../../src/catalog/catalog.js');
  const catalog = await loadCatalog({ userPath: runtime.config.catalog });
  const counted = (list: VoiceList, downloaded: boolean): ListedVoices => {
    const count = catalog.find(list.model)?.speakerCount;
    return { ...list, ...(count && count > list.voices.length ? { speakerCount: count } : {}), downloaded };
  };
  try {
    return (await runtime.voices(model)).map((list) => counted(list, true));
  } catch (error) {
    const entry = model ? catalog.find(model) : undefined;
    if (!entry || entry.kind !== 'tts' || !NOT_INSTALLED.has((error as { code?: string }).code ?? '')) throw error;
    const voices = (entry.voices ?? []).map((v) => ({ name: v.name, id: v.id, ...(v.language ? { language: v.language } : {}), ...(v.gender ? { gender: v.gender } : {}) }));
    // A catalog entry that names no voices has one speaker (or speakerCount of them).
    const listed = voices.length ? voices : [{ name: 'speaker-0', id: 0 }];
    return [counted({ model: entry.name, voices: listed, defaultVoice: entry.defaultVoice ?? listed[0]!.name }, false)];
  }
};

/** Prints `murmur speak --voices`: a model per line, its voices indented; JSON with --json (one object for --model). */
export const printVoices = async (ctx: CommandContext, runtime: Runtime, model: string | undefined, json: boolean): Promise<void> => {
  const lists = await findVoices(runtime, model);
  if (json) return void ctx.stdout.write(`${JSON.stringify(model ? lists[0] : lists)}\n`);
  if (!lists.length) return void ctx.stderr.write('No voice models are installed; run `murmur pull piper`.\n');
  for (const list of lists) {
    ctx.stdout.write(`${list.model}${list.downloaded ? '' : '  (not downloaded)'}\n`);
    for (const v of list.voices) {
      const extra = [v.language, v.gender].filter(Boolean).join(', ');
      ctx.stdout.write(`  ${v.name}${extra ? `  (${extra})` : ''}${v.name === list.defaultVoice ? '  [default]' : ''}\n`);
    }
    if (list.speakerCount) ctx.stdout.write(`  … ${list.speakerCount} speakers in all: --voice takes any id 0-${list.speakerCount - 1}\n`);
  }
  if (lists.some((list) => !list.downloaded)) ctx.stderr.write(`murmur: run \`murmur pull ${lists.find((l) => !l.downloaded)!.model}\` to speak with it.\n`);
};
