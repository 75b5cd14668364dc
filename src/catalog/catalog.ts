import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { builtinCatalogPath } from '../project.js';
import { jsonErrorOffset, positionAt } from './json-position.js';
import { closestNames, resolveRef, type ModelRef, type ResolveOptions } from './resolve.js';
import type { CatalogDefaults, CatalogEntry, CatalogFile, ModelKind } from './schema.js';
import { withArticle } from '../text/article.js';

export type { ModelRef, ResolveOptions } from './resolve.js';

/** The merged catalog: the built-in models.json plus the user's MURMUR_CATALOG. */
export interface Catalog {
  readonly entries: readonly CatalogEntry[];
  readonly defaults: CatalogDefaults;
  /** The entry with this name or alias (case-insensitive). */
  find(nameOrAlias: string): CatalogEntry | undefined;
  /** Up to `limit` catalog names and aliases close to `name`, best first. */
  suggest(name: string, limit?: number): string[];
  /**
   * What `ref` stands for: a catalog name or alias, an `hf:` URI, an http(s)
   * URL, or an existing local file or directory. Throws ModelNotFoundError
   * (with suggestions) when it is none of these.
   */
  resolve(ref: string, options?: ResolveOptions): ModelRef;
  /** The default entry for a role (chat, embedding, tts, asr, vad), if the catalog names one. */
  defaultFor(role: keyof CatalogDefaults): CatalogEntry | undefined;
}

export interface LoadCatalogOptions {
  /** The built-in catalog; defaults to the package's models.json. */
  readonly builtinPath?: string;
  /** A user catalog (MURMUR_CATALOG) whose entries override or add to the built-in ones. */
  readonly userPath?: string;
}

/** The model kind each default role must name. */
export const defaultRoleKinds: Readonly<Record<keyof CatalogDefaults, ModelKind>> = {
  chat: 'llm',
  embedding: 'embedding',
  tts: 'tts',
  asr: 'asr',
  vad: 'vad',
};

/** A catalog file checked for syntax, schema and its own consistency, and where it came from. */
interface SourcedFile {
  readonly path: string;
  readonly user: boolean;
  readonly data: CatalogFile;
}

const invalid = (file: string, user: boolean, detail: string, cause?: unknown): AppError =>
  new AppError('catalog_invalid', `The ${user ? '' : 'built-in '}catalog ${file} is invalid: ${detail}`, {
    cause,
    hint: user
      ? `Fix ${file}, or unset MURMUR_CATALOG to use the built-in catalog alone.`
      : 'The built-in catalog ships with murmur; reinstall murmur.',
  });

/** `['models', 3, 'files', 0, 'url']` → `models[3].files[0].url`. */
export const formatJsonPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '') || '(top level)';

const readCatalogFile = async (path: string, user: boolean, trusted = false): Promise<SourcedFile> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(path, user, code === 'ENOENT' ? 'the file does not exist.' : `it cannot be read (${code ?? String(error)}).`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const { line, column } = positionAt(text, jsonErrorOffset(text, error));
    const reason = (error as Error).message.replace(/, .* is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    throw invalid(path, user, `JSON syntax error at ${path}:${line}:${column} (line ${line}, column ${column}): ${reason}.`, error);
  }
  // The catalog that ships with murmur is checked against the schema by its tests (models-json.test.ts);
  // trusting it here spares every command the ~70 ms that loading zod costs. Other files are validated.
  if (trusted && Array.isArray((raw as Partial<CatalogFile> | null)?.models)) {
    checkFile(path, user, raw as CatalogFile);
    return { path, user, data: raw as CatalogFile };
  }
  const { catalogFileSchema } = await import('./schema.js');
  const parsed = catalogFileSchema.safeParse(raw);
  if (!parsed.success) {
    const models = (raw as { models?: unknown[] } | null)?.models;
    const details = parsed.error.issues.slice(0, 3).map((issue) => {
      const at = formatJsonPath(issue.path);
      const index = issue.path[0] === 'models' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
      const name = index !== undefined && Array.isArray(models) ? (models[index] as { name?: unknown } | undefined)?.name : undefined;
      return `${at}${typeof name === 'string' ? ` (model '${name}')` : ''}: ${issue.message}`;
    });
    const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
    throw invalid(path, user, `${details.join('; ')}${more}.`);
  }
  checkFile(path, user, parsed.data);
  return { path, user, data: parsed.data };
};

/** Checks what the schema cannot: unique names within the file, unique voice names, defaultVoice among the voices. */
const checkFile = (path: string, user: boolean, data: CatalogFile): void => {
  const seen = new Map<string, number>();
  data.models.forEach((entry, index) => {
    const first = seen.get(entry.name);
    if (first !== undefined) throw invalid(path, user, `models[${first}] and models[${index}] are both named '${entry.name}'.`);
    seen.set(entry.name, index);
    const voices = new Set<string>();
    entry.voices?.forEach((voice, v) => {
      if (voices.has(voice.name)) throw invalid(path, user, `models[${index}].voices[${v}]: '${entry.name}' has two voices named '${voice.name}'.`);
      voices.add(voice.name);
    });
    if (entry.defaultVoice !== undefined && !voices.has(entry.defaultVoice)) {
      throw invalid(path, user, `models[${index}].defaultVoice: '${entry.defaultVoice}' is not one of the voices of '${entry.name}'.`);
    }
  });
};

/**
 * Merges catalog files in order (later entries with the same name replace
 * earlier ones, later defaults override), then checks that no name or alias
 * is claimed twice and that every default names an entry of the right kind.
 */
const mergeFiles = (files: readonly SourcedFile[]): Catalog => {
  const byName = new Map<string, { entry: CatalogEntry; source: SourcedFile }>();
  const defaults: Record<string, string> = {};
  const defaultSources: Record<string, SourcedFile> = {};
  for (const source of files) {
    for (const entry of source.data.models) byName.set(entry.name, { entry, source });
    for (const [role, name] of Object.entries(source.data.defaults ?? {})) {
      if (name === undefined) continue;
      defaults[role] = name;
      defaultSources[role] = source;
    }
  }
  const keys = new Map<string, { entry: CatalogEntry; source: SourcedFile; as: string }>();
  const claim = (key: string, entry: CatalogEntry, source: SourcedFile, as: string) => {
    const lower = key.toLowerCase();
    const other = keys.get(lower);
    if (other && other.entry !== entry) {
      const blamed = source.user || !other.source.user ? source : other.source;
      throw invalid(
        blamed.path,
        blamed.user,
        `${as} '${key}' of '${entry.name}'${source === blamed ? '' : ` (in ${source.path})`} clashes with the ${other.as} of '${other.entry.name}'${other.source === blamed ? '' : ` (in ${other.source.path})`}; names and aliases must be unique.`,
      );
    }
    keys.set(lower, { entry, source, as });
  };
  for (const { entry, source } of byName.values()) claim(entry.name, entry, source, 'name');
  for (const { entry, source } of byName.values()) for (const alias of entry.aliases ?? []) claim(alias, entry, source, 'alias');

  const entries = [...byName.values()].map(({ entry }) => entry);
  const find = (nameOrAlias: string) => keys.get(nameOrAlias.trim().toLowerCase())?.entry;
  for (const [role, name] of Object.entries(defaults)) {
    const source = defaultSources[role]!;
    const entry = find(name);
    const kind = defaultRoleKinds[role as keyof CatalogDefaults];
    if (!entry) throw invalid(source.path, source.user, `defaults.${role}: '${name}' is not a model in the catalog.`);
    if (entry.kind !== kind) throw invalid(source.path, source.user, `defaults.${role}: '${name}' is ${withArticle(entry.kind)} model, not ${kind}.`);
  }

  const catalog: Catalog = {
    entries,
    defaults: Object.freeze({ ...defaults }) as CatalogDefaults,
    find,
    // One suggestion per entry: its closest name or alias.
    suggest: (name, limit = 3) => {
      const seen = new Set<CatalogEntry>();
      return closestNames(name, keys.keys(), Infinity)
        .filter((key) => {
          const entry = keys.get(key)!.entry;
          return seen.has(entry) ? false : (seen.add(entry), true);
        })
        .slice(0, limit);
    },
    resolve: (ref, options) => resolveRef(ref, catalog, options),
    defaultFor: (role) => (defaults[role] === undefined ? undefined : find(defaults[role]!)),
  };
  return catalog;
};

/**
 * Builds a catalog from catalog files already in memory (typed, so taken to
 * match the schema; files on disk go through loadCatalog, which validates
 * them), checked like loaded files, the later overriding the earlier.
 * Useful for tests and for callers that hold a catalog in memory.
 */
export const createCatalog = (...files: CatalogFile[]): Catalog =>
  mergeFiles(
    files.map((data, index) => {
      const path = `(catalog ${index + 1})`;
      if (!Array.isArray(data?.models)) throw invalid(path, index > 0, 'models: expected an array.');
      checkFile(path, index > 0, data);
      return { path, user: index > 0, data };
    }),
  );

/**
 * Reads the built-in catalog and, when given, the user's catalog; parses and
 * validates both (zod schema plus unique names, aliases and voices, and
 * defaults of the right kind) and merges them: user entries replace built-in
 * entries of the same name or add new ones, and user defaults override.
 * Throws AppError('catalog_invalid') naming the file and, for syntax errors,
 * the line:column, or for schema errors the JSON path (`models[3].files[0].url`).
 */
export const loadCatalog = async (options: LoadCatalogOptions = {}): Promise<Catalog> => {
  const builtin = builtinCatalogPath();
  const files = [await readCatalogFile(options.builtinPath ?? builtin, false, (options.builtinPath ?? builtin) === builtin)];
  if (options.userPath) files.push(await readCatalogFile(options.userPath, true));
  return mergeFiles(files);
};
