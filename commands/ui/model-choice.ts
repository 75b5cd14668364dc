import type { CatalogDefaults, ModelKind } from '../../src/catalog/schema.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';

/**
 * Makes sure `name` is installed: a catalog model that is not downloaded yet
 * is pulled now with progress bars on stderr, as `ollama run` does, so
 * `murmur chat qwen3 "hi"` works on a fresh machine. A local file or folder,
 * an hf: URI or a URL is pulled into the store the first time (under the
 * name `pull` would give it) and used from there after. Returns the name to
 * use.
 */
export const ensureInstalled = async (ctx: CommandContext, runtime: Runtime, name: string, why = `${name} is not downloaded yet`): Promise<string> => {
  try {
    await runtime.getModel(name);
    return name;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'model_not_found') {
      const imported = await ensureImported(ctx, runtime, name);
      // A daemon says 'not found' for a catalog model it has not downloaded (OpenAI's error codes have no "not downloaded"): pull it there, as in-process.
      if (imported !== IN_CATALOG) return imported ?? name;
    } else if (code !== 'model_not_downloaded') {
      // Anything else (an alias the runtime resolves, such as tts-1, or a name it rejects) is the runtime's to report.
      return name;
    }
  }
  ctx.stderr.write(`${why}; pulling ${name}.\n`);
  await pullWithBars(ctx, runtime, name);
  return name;
};

const pullWithBars = async (ctx: CommandContext, runtime: Pick<Runtime, 'pull'>, ref: string) => {
  const { createDownloadBars } = await import('./download-bars.js');
  const bars = createDownloadBars(ctx.stderr);
  try {
    return await runtime.pull(ref, { onProgress: bars.onProgress, signal: ctx.signal });
  } finally {
    bars.stop();
  }
};

/** ensureImported's answer for a name the catalog knows. */
const IN_CATALOG = Symbol('in catalog');

/**
 * For a path, hf: URI or URL: the name of the store's copy, pulled now when
 * missing. IN_CATALOG for a catalog name; undefined for anything else (the
 * runtime then reports the unknown name). A different model already
 * installed under the same name is an error, not a silent substitute.
 */
const ensureImported = async (ctx: CommandContext, runtime: Runtime, ref: string): Promise<string | typeof IN_CATALOG | undefined> => {
  const [{ loadCatalog }, { ModelNotFoundError, UsageError }] = await Promise.all([import('../../src/catalog/catalog.js'), import('../../src/errors.js')]);
  const catalog = await loadCatalog({ userPath: runtime.config.catalog });
  let resolved;
  try {
    resolved = catalog.resolve(ref);
  } catch (error) {
    // A bare name the catalog does not know (an alias such as tts-1): the runtime's to answer or report.
    if (error instanceof ModelNotFoundError) return undefined;
    throw error;
  }
  if (resolved.type === 'catalog') return IN_CATALOG;
  const source = resolved.type === 'local' ? resolved.path : resolved.source;
  const installed = await runtime.getModel(resolved.name).catch(() => undefined);
  if (installed?.source === source) return installed.name;
  if (installed) {
    throw new UsageError(`A different model is installed as '${resolved.name}' (from ${installed.source}).`, {
      hint: `Pull this one under another name: \`murmur pull ${ref} --name NAME\`, then use NAME.`,
    });
  }
  // Said once the store answers: a file imported before (the same path and size) is reused under its own name, not imported again.
  const said = (model: { name: string }) => {
    const verb = model.name !== resolved.name ? 'Using' : resolved.type === 'local' ? 'Imported' : 'Pulled';
    ctx.stderr.write(`${verb} ${ref} as ${model.name} (\`murmur rm ${model.name}\` removes it).\n`);
    return model.name;
  };
  if (resolved.type === 'local') {
    // A local file is imported by this process into the store (a daemon imports no paths asked for over HTTP); a daemon on it sees the new model.
    const { createStore } = await import('../../src/store/store.js');
    return said(await pullWithBars(ctx, { pull: createStore(runtime.config, catalog).pull } as Pick<Runtime, 'pull'>, ref));
  }
  return said(await pullWithBars(ctx, runtime, ref));
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
 * The model a command uses: the one named, else the default by the one rule
 * (src/catalog/default-model.ts: configured, else the catalog default when
 * installed, else the earliest installed of the kind), pulled now when it
 * is the catalog default and nothing of the kind is installed. A named
 * catalog model that is not downloaded yet is pulled too.
 */
export const chooseModel = async (ctx: CommandContext, runtime: Runtime, choice: ModelChoice): Promise<string> => {
  if (choice.named) return ensureInstalled(ctx, runtime, choice.named);
  if (choice.configured) return ensureInstalled(ctx, runtime, choice.configured);
  const [{ loadCatalog }, { pickDefaultModel }, { UsageError }] = await Promise.all([
    import('../../src/catalog/catalog.js'),
    import('../../src/catalog/default-model.js'),
    import('../../src/errors.js'),
  ]);
  const catalogDefault = (await loadCatalog({ userPath: runtime.config.catalog })).defaultFor(choice.role)?.name;
  const installed = (await runtime.listModels()).filter((model) => model.kind === choice.kind);
  const chosen = pickDefaultModel({ catalogDefault, installed });
  if (chosen?.installed) return chosen.name;
  if (!chosen) {
    throw new UsageError(`No model named, no ${choice.label} installed, and the catalog names no default.`, {
      hint: 'Name one with --model; `murmur list --all` shows the catalog.',
    });
  }
  return ensureInstalled(ctx, runtime, chosen.name, `No ${choice.label} is installed`);
};

/**
 * Whether `name` can be meant as a model: installed, in the catalog, or a
 * path, hf: URI or URL. False only for a bare name nothing knows.
 */
export const isModelName = async (runtime: Runtime, name: string): Promise<boolean> => {
  try {
    await runtime.getModel(name);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'model_not_found') return true;
  }
  const [{ loadCatalog }, { ModelNotFoundError }] = await Promise.all([import('../../src/catalog/catalog.js'), import('../../src/errors.js')]);
  try {
    (await loadCatalog({ userPath: runtime.config.catalog })).resolve(name);
    return true;
  } catch (error) {
    if (error instanceof ModelNotFoundError) return false;
    return true;
  }
};

/**
 * The name `chooseModel` would give `choice` with nothing named, without
 * pulling it: the configured one, else an installed one, else the catalog
 * default (to be pulled on use). Undefined when there is nothing to choose.
 */
export const defaultModelName = async (runtime: Runtime, choice: ModelChoice): Promise<string | undefined> => {
  if (choice.configured) return choice.configured;
  const [{ loadCatalog }, { pickDefaultModel }] = await Promise.all([import('../../src/catalog/catalog.js'), import('../../src/catalog/default-model.js')]);
  const catalogDefault = (await loadCatalog({ userPath: runtime.config.catalog })).defaultFor(choice.role)?.name;
  const installed = (await runtime.listModels()).filter((model) => model.kind === choice.kind);
  return pickDefaultModel({ catalogDefault, installed })?.name;
};

export interface Resemblance {
  /** Whether the word was probably meant as a model name. */
  readonly looksLikeModel: boolean;
  /** The closest model name of the kind, when one is close. */
  readonly suggestion?: string;
}

/**
 * Whether `word` (which names no model) was probably meant as one of `kind`:
 * it has a digit, '-', '_', ':', '/' or '.' inside it, or it is within an
 * edit distance of 2 (and of a third of its length, so that "Why" is not
 * taken for "phi") of an installed or catalog model name or alias of that
 * kind. With the closest such name, for a "did you mean".
 */
export const resemblesModelName = async (runtime: Runtime, word: string, kind: ModelKind): Promise<Resemblance> => {
  const [{ loadCatalog }, { closestNames }, { distance }, { looksLikeModelName }] = await Promise.all([
    import('../../src/catalog/catalog.js'),
    import('../../src/catalog/resolve.js'),
    import('fastest-levenshtein'),
    import('./chat-options.js'),
  ]);
  const catalog = await loadCatalog({ userPath: runtime.config.catalog });
  const installed = (await runtime.listModels().catch(() => [])).filter((model) => model.kind === kind).map((model) => model.name);
  const names = [...installed, ...catalog.entries.filter((entry) => entry.kind === kind).flatMap((entry) => [entry.name, ...(entry.aliases ?? [])])];
  const lower = word.toLowerCase();
  const allowed = Math.min(2, Math.max(1, Math.floor(word.length / 3)));
  const close = names.some((name) => distance(lower, name.toLowerCase()) <= allowed);
  const suggestion = closestNames(word, names, 1)[0];
  return { looksLikeModel: close || looksLikeModelName(word), ...(suggestion ? { suggestion } : {}) };
};
