import type { CatalogDefaults, ModelKind } from '../../src/catalog/schema.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';

/**
 * Makes sure `name` is installed: a catalog model that is not downloaded yet
 * is pulled now with progress bars on stderr, as `ollama run` does, so
 * `murmur chat qwen3 "hi"` works on a fresh machine. Returns the name.
 */
export const ensureInstalled = async (ctx: CommandContext, runtime: Runtime, name: string, why = `${name} is not downloaded yet`): Promise<string> => {
  try {
    await runtime.getModel(name);
    return name;
  } catch (error) {
    // Anything else (an alias the runtime resolves, such as tts-1, or a name it rejects) is the runtime's to report.
    if ((error as { code?: string }).code !== 'model_not_downloaded') return name;
  }
  ctx.stderr.write(`${why}; pulling ${name}.\n`);
  const { createDownloadBars } = await import('./download-bars.js');
  const bars = createDownloadBars(ctx.stderr);
  try {
    await runtime.pull(name, { onProgress: bars.onProgress, signal: ctx.signal });
  } finally {
    bars.stop();
  }
  return name;
};

export interface ModelChoice {
  /** What the user named (--model or the argument). */
  readonly named?: string;
  /** The configured default (MURMUR_TTS_MODEL, MURMUR_ASR_MODEL). */
  readonly configured?: string;
  /** The catalog default's role and the kind it stands for. */
  readonly role: keyof CatalogDefaults;
  readonly kind: ModelKind;
  /** How to name this kind of model in messages ("chat model", "voice", …). */
  readonly label: string;
}

/**
 * The model a command uses: the one named, else the configured default,
 * else the catalog's default when installed, else another installed model
 * of the kind, else the catalog's default pulled now. A named catalog model
 * that is not downloaded yet is pulled too.
 */
export const chooseModel = async (ctx: CommandContext, runtime: Runtime, choice: ModelChoice): Promise<string> => {
  const explicit = choice.named ?? choice.configured;
  if (explicit) return ensureInstalled(ctx, runtime, explicit);
  const [{ loadCatalog }, { UsageError }] = await Promise.all([import('../../src/catalog/catalog.js'), import('../../src/errors.js')]);
  const fallback = (await loadCatalog({ userPath: runtime.config.catalog })).defaultFor(choice.role)?.name;
  const installed = (await runtime.listModels()).filter((model) => model.kind === choice.kind);
  const chosen = installed.find((model) => model.name === fallback) ?? installed[0];
  if (chosen) return chosen.name;
  if (!fallback) {
    throw new UsageError(`No model named, no ${choice.label} installed, and the catalog names no default.`, {
      hint: 'Name one with --model; `murmur list --all` shows the catalog.',
    });
  }
  return ensureInstalled(ctx, runtime, fallback, `No ${choice.label} is installed`);
};
