/**
 * The config file (`murmur serve --config FILE`, MURMUR_CONFIG, or
 * MURMUR_HOME/config.yaml when present): YAML whose settings carry the flags'
 * names (`keep-alive`, `api-key`; snake_case too) and are parsed by the
 * MURMUR_* variables' own parsers, plus `bind`, `port`, `grace` and the
 * `upstreams`, `routes` and `keys` sections. Layers: defaults < environment
 * < file < flags. Every error names the file, line, column and setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { distance } from 'fastest-levenshtein';
import type * as Yaml from 'yaml';
import { loadConfig, parseCount, parseDuration, parsePort, variables, type Config } from './config.js';
import {
  checkUpstreamName,
  parseDialect,
  parsePositiveDuration,
  parseRouteTarget,
  parseUpstreamUrl,
  upstreamSpec,
} from './config-routing.js';
import { UsageError } from './errors.js';
import type { RouteSpec, TenantSpec, UpstreamSpec } from './types/routing.js';

export { matchesRoute, mergeRouting, parseRouteFlag, parseUpstreamFlag, routeWarnings } from './config-routing.js';

type Node = Yaml.Node | null | undefined;
type Settings = { -readonly [K in keyof Config]?: Config[K] };

/** MURMUR_KEEP_ALIVE → keep-alive: a variable's name in the file, as its flag is named. */
const settingName = (variable: string): string => variable.slice('MURMUR_'.length).toLowerCase().replace(/_/g, '-');
const settingVariables = new Map(variables.filter((v) => v.key !== 'home' && v.key !== 'configFile').map((v) => [settingName(v.name), v]));
/** Settings whose relative paths are taken from the file's directory, not the working one. */
const pathKeys = new Set<keyof Config>(['catalog', 'tlsCert', 'tlsKey', 'importDirs']);
const sections = ['upstreams', 'routes', 'keys'];

/** Every top-level name the file accepts. */
export const fileSettings: readonly string[] = [...settingVariables.keys(), 'bind', 'port', 'grace', ...sections];

const SEE = 'See CONFIGURATION in `man murmur-serve`.';

/** The nearest of `known` to `name`, as a hint, when one is close. */
const suggest = (name: string, known: readonly string[], what: string): string => {
  const [best] = known.map((k) => [k, distance(name, k)] as const).sort((a, b) => a[1] - b[1]);
  const close = best && best[1] <= Math.max(2, Math.floor(name.length / 3));
  return close ? `Did you mean '${best[0]}'? ${SEE}` : `The ${what} are: ${known.join(', ')}.`;
};

interface Reader {
  readonly file: string;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly yaml: typeof Yaml;
  readonly lines: Yaml.LineCounter;
}

const place = (r: Reader, node: Node) => r.lines.linePos(node?.range?.[0] ?? 0);
const position = (r: Reader, node: Node): string => `${place(r, node).line}:${place(r, node).col}`;
const lineOf = (r: Reader, node: Node): number => place(r, node).line;
const fail = (r: Reader, node: Node, message: string, hint = SEE): UsageError => new UsageError(`${r.file}:${position(r, node)}: ${message}`, { hint });

/** Runs a parser, giving its UsageError the node's place in the file. */
/** Whether a variable's value is a comma-separated list (which takes a YAML list too), found by asking its parser. */
const takesList = (variable: (typeof variables)[number]): boolean => {
  try {
    return Array.isArray(variable.parse('a', variable.name));
  } catch {
    return false;
  }
};

const at = <T>(r: Reader, node: Node, parse: () => T, hint?: string): T => {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw fail(r, node, error.message, error.hint ?? hint);
    throw error;
  }
};

/** A scalar as text (plain ones as written, so `0123` stays 0123); undefined for null or nothing. */
const scalarText = (r: Reader, node: Node, name: string): string | undefined => {
  if (!node || (r.yaml.isScalar(node) && node.value === null)) return undefined;
  if (!r.yaml.isScalar(node)) throw fail(r, node, `${name} must be a single value, not a ${r.yaml.isSeq(node) ? 'list' : 'mapping'}.`);
  return node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : String(node.value);
};
const requireText = (r: Reader, node: Node, name: string, parent: Node): string => {
  const text = scalarText(r, node, name)?.trim();
  if (!text) throw fail(r, node ?? parent, `${name} is missing or empty.`);
  return text;
};

interface Entry {
  readonly key: string;
  readonly keyNode: Node;
  readonly value: Node;
}

/** A mapping's entries; `kebab` reads snake_case names as kebab-case ones (settings and fields, not upstream names). */
const entries = (r: Reader, node: Node, name: string, kebab: boolean): Entry[] => {
  if (!r.yaml.isMap(node)) throw fail(r, node, `${name} must be a mapping (NAME: VALUE lines).`);
  const seen = new Map<string, Node>();
  return node.items.map((pair) => {
    const keyNode = pair.key as Node;
    const raw = scalarText(r, keyNode, `a name in ${name}`) ?? '';
    const key = kebab ? raw.replace(/_/g, '-') : raw;
    const first = seen.get(key);
    if (first !== undefined) throw fail(r, keyNode, `${name === 'the file' ? '' : `${name}.`}${key} is set twice (first at line ${lineOf(r, first)}).`, 'Keep one of them.');
    seen.set(key, keyNode);
    return { key, keyNode, value: pair.value as Node };
  });
};

/** A mapping's fields, each of `known` or an error suggesting the nearest. */
const fields = (r: Reader, node: Node, name: string, known: readonly string[]): Map<string, Entry> => {
  const found = new Map<string, Entry>();
  for (const entry of entries(r, node, name, true)) {
    if (!known.includes(entry.key)) throw fail(r, entry.keyNode, `${name} has an unknown field '${entry.key}'.`, suggest(entry.key, known, 'fields'));
    found.set(entry.key, entry);
  }
  return found;
};

/** A literal secret, or the environment variable `NAME-env` names; both is an error. */
const secret = (r: Reader, f: Map<string, Entry>, field: string, name: string): string | undefined => {
  const literal = f.get(field);
  const fromEnv = f.get(`${field}-env`);
  if (literal && fromEnv) throw fail(r, fromEnv.keyNode, `${name} has both ${field} and ${field}-env.`, `Give the ${field} itself or the variable holding it, not both.`);
  if (literal) return requireText(r, literal.value, `${name}.${field}`, literal.keyNode);
  if (!fromEnv) return undefined;
  const variable = requireText(r, fromEnv.value, `${name}.${field}-env`, fromEnv.keyNode);
  const value = r.env[variable];
  if (value === undefined || value === '') {
    throw fail(r, fromEnv.value, `${name}.${field}-env names ${variable}, which is not set.`, `Set ${variable} in murmur's environment (for a service, in its unit), or give ${field} itself.`);
  }
  return value;
};

const upstreamFields = ['url', 'api-key', 'api-key-env', 'timeout', 'dialect', 'health-interval'];

const readUpstreams = (r: Reader, node: Node): UpstreamSpec[] =>
  entries(r, node, 'upstreams', false).map(({ key, keyNode, value }) => {
    const name = at(r, keyNode, () => checkUpstreamName(key, 'upstreams'));
    const path = `upstreams.${name}`;
    // The short form: `gpu: http://gpu-box:8000/v1`.
    if (r.yaml.isScalar(value)) return upstreamSpec(name, at(r, value, () => parseUpstreamUrl(requireText(r, value, path, keyNode), path)));
    const f = fields(r, value, path, upstreamFields);
    const url = f.get('url');
    if (!url) throw fail(r, keyNode, `${path} has no url.`, 'Add `url: http://HOST:PORT/v1` under it.');
    const optional = <T>(field: string, parse: (raw: string, name: string) => T): T | undefined => {
      const entry = f.get(field);
      const raw = entry && scalarText(r, entry.value, `${path}.${field}`);
      return raw === undefined ? undefined : at(r, entry!.value, () => parse(raw, `${path}.${field}`));
    };
    return upstreamSpec(name, at(r, url.value, () => parseUpstreamUrl(requireText(r, url.value, `${path}.url`, url.keyNode), `${path}.url`)), {
      apiKey: secret(r, f, 'api-key', path),
      timeoutMs: optional('timeout', parsePositiveDuration),
      dialect: optional('dialect', parseDialect),
      healthIntervalMs: optional('health-interval', parsePositiveDuration),
    });
  });

/** Upstream names (one, or a list of replicas), each declared. */
const routeUpstreams = (r: Reader, node: Node, name: string, parent: Node, known: readonly string[]): string[] => {
  const items: Node[] = r.yaml.isSeq(node) ? (node.items as Node[]) : [node];
  if (items.length === 0) throw fail(r, node, `${name} is an empty list.`);
  return items.map((item) => {
    const upstream = requireText(r, item, name, parent);
    checkKnown(r, item, name, upstream, known);
    return upstream;
  });
};
const checkKnown = (r: Reader, node: Node, name: string, upstream: string, known: readonly string[]): void => {
  if (known.includes(upstream)) return;
  const hint = known.length ? suggest(upstream, known, 'upstreams') : 'Declare it under `upstreams:` in this file (NAME: {url: http://HOST:PORT/v1}).';
  throw fail(r, node, `${name} names the upstream '${upstream}', which is not declared under upstreams.`, hint);
};

const readRoutes = (r: Reader, node: Node, known: readonly string[]): RouteSpec[] => {
  const source = (n: Node) => `${r.file}:${lineOf(r, n)}`;
  if (r.yaml.isSeq(node)) {
    return (node.items as Node[]).map((item, i) => {
      const path = `routes[${i}]`;
      const f = fields(r, item, path, ['model', 'upstream', 'as']);
      const pattern = requireText(r, f.get('model')?.value, `${path}.model`, f.get('model')?.keyNode ?? item);
      const upstream = f.get('upstream');
      if (!upstream) throw fail(r, item, `${path} has no upstream.`, 'Add `upstream: NAME` (or a list of replicas) to it.');
      const as = f.get('as');
      const model = as && requireText(r, as.value, `${path}.as`, as.keyNode);
      return { pattern, upstreams: routeUpstreams(r, upstream.value, `${path}.upstream`, upstream.keyNode, known), ...(model ? { model } : {}), source: source(item) };
    });
  }
  // The short form: `routes: { qwen3-70b: gpu, "llama-*": [a, b], qwen3-8b: "gpu:qwen3:8b" }`.
  return entries(r, node, 'routes', false).map(({ key: pattern, keyNode, value }) => {
    const path = `routes.${pattern}`;
    if (!pattern) throw fail(r, keyNode, 'a route has an empty model name.');
    if (r.yaml.isScalar(value)) {
      const target = at(r, value, () => parseRouteTarget(requireText(r, value, path, keyNode), path));
      for (const name of target.upstreams) checkKnown(r, value, path, name, known);
      return { pattern, ...target, source: source(keyNode) };
    }
    if (r.yaml.isSeq(value)) return { pattern, upstreams: routeUpstreams(r, value, path, keyNode, known), source: source(keyNode) };
    const f = fields(r, value, path, ['upstream', 'as']);
    const upstream = f.get('upstream');
    if (!upstream) throw fail(r, keyNode, `${path} has no upstream.`, 'Add `upstream: NAME` (or a list of replicas) to it.');
    const as = f.get('as');
    const model = as && requireText(r, as.value, `${path}.as`, as.keyNode);
    return { pattern, upstreams: routeUpstreams(r, upstream.value, `${path}.upstream`, upstream.keyNode, known), ...(model ? { model } : {}), source: source(keyNode) };
  });
};

const limits = { 'requests-per-minute': 'requestsPerMinute', streams: 'streams', 'tokens-per-minute': 'tokensPerMinute' } as const;

const readKeys = (r: Reader, node: Node): TenantSpec[] => {
  if (!r.yaml.isSeq(node)) throw fail(r, node, 'keys must be a list (lines starting with `- name: ...`).');
  const names = new Map<string, Node>();
  const keys = new Map<string, string>();
  return (node.items as Node[]).map((item, i) => {
    const path = `keys[${i}]`;
    const f = fields(r, item, path, ['name', 'key', 'key-env', ...Object.keys(limits)]);
    const name = requireText(r, f.get('name')?.value, `${path}.name`, f.get('name')?.keyNode ?? item);
    const nameNode = f.get('name')!.value;
    if (names.has(name)) throw fail(r, nameNode, `${path}.name '${name}' is used twice (first at line ${lineOf(r, names.get(name))}).`, 'Give each key its own name.');
    if (name === 'default') throw fail(r, nameNode, `${path}.name 'default' is taken: it names the key of api-key (MURMUR_API_KEY).`, 'Give this key another name.');
    names.set(name, nameNode);
    const key = secret(r, f, 'key', path);
    if (key === undefined) throw fail(r, item, `${path} ('${name}') has no key.`, 'Add `key: SECRET`, or `key-env: VARIABLE` naming the variable that holds it.');
    const owner = keys.get(key);
    // The key itself is never echoed.
    if (owner !== undefined) throw fail(r, (f.get('key') ?? f.get('key-env'))!.value, `${path} ('${name}') has the same key as '${owner}'.`, 'Give each tenant a key of its own.');
    keys.set(key, name);
    const spec: Record<string, unknown> = { name, key };
    for (const [field, prop] of Object.entries(limits)) {
      const entry = f.get(field);
      const raw = entry && scalarText(r, entry.value, `${path}.${field}`);
      if (raw !== undefined) spec[prop] = at(r, entry!.value, () => parseCount(raw, `${path}.${field}`, 1));
    }
    return spec as unknown as TenantSpec;
  });
};

/** One setting, parsed by its variable's parser; a YAML list is the variable's comma-separated list. */
const readSetting = (r: Reader, name: string, variable: (typeof variables)[number], node: Node): unknown => {
  const list = r.yaml.isSeq(node);
  const hint = `${name} takes what ${variable.name} takes; see ENVIRONMENT in \`man murmur\`.`;
  if (list && !takesList(variable)) throw fail(r, node, `${name} takes one value, not a list.`, hint);
  const items = list ? (node.items as Node[]).map((item) => scalarText(r, item, name)).filter((s): s is string => s !== undefined) : [scalarText(r, node, name)];
  if (items[0] === undefined) return undefined;
  const fromFile = (s: string) => (pathKeys.has(variable.key) && s.trim() ? resolve(r.dir, s.trim()) : s);
  const raw = (variable.key === 'importDirs' ? items.flatMap((s) => s!.split(',')) : items).map((s) => fromFile(s!)).join(',');
  return at(r, node, () => variable.parse(raw, name), hint);
};

/**
 * Parses a config file's text into the settings it sets (only those), its
 * upstreams, routes and keys. `file` names it in errors and routes' sources;
 * `env` resolves `api-key-env` and `key-env`. Throws a UsageError naming the
 * line, column and setting.
 */
export const parseConfigFile = (text: string, file: string, env: NodeJS.ProcessEnv = process.env): Settings => {
  // Loaded only when there is a file: most commands run with none.
  const yaml = createRequire(import.meta.url)('yaml') as typeof Yaml;
  const r: Reader = { file, dir: dirname(resolve(file)), env, yaml, lines: new yaml.LineCounter() };
  const doc = yaml.parseDocument(text, { lineCounter: r.lines });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = error.linePos?.[0] ?? { line: 1, col: 1 };
    const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new UsageError(`${file}:${line}:${col}: not valid YAML: ${what}.`, { hint: `Check the indentation and quoting there; settings are \`name: value\` lines. ${SEE}` });
  }
  const settings: Settings = {};
  if (doc.contents === null || (yaml.isScalar(doc.contents) && doc.contents.value === null)) return settings;
  const out = settings as Record<string, unknown>;
  let routes: Node;
  for (const { key, keyNode, value } of entries(r, doc.contents as Node, 'the file', true)) {
    if (key === 'home') throw fail(r, keyNode, 'home cannot be set in the config file (it says where the file itself is looked for).', 'Set MURMUR_HOME or give --home instead.');
    if (key === 'config') throw fail(r, keyNode, 'config cannot be set in the config file.', 'Name another file with MURMUR_CONFIG or serve --config.');
    const variable = settingVariables.get(key);
    if (variable) {
      const parsed = readSetting(r, key, variable, value);
      if (parsed !== undefined) out[variable.key] = parsed;
    } else if (key === 'upstreams') settings.upstreams = readUpstreams(r, value);
    else if (key === 'routes') routes = value ?? null;
    else if (key === 'keys') settings.keys = readKeys(r, value);
    else if (key === 'bind' || key === 'port' || key === 'grace') {
      const raw = scalarText(r, value, key)?.trim();
      if (!raw) continue;
      if (key === 'bind') settings.bind = raw;
      else if (key === 'port') settings.port = at(r, value, () => parsePort(raw, 'port'));
      else settings.graceMs = at(r, value, () => parseDuration(raw, 'grace'));
    } else throw fail(r, keyNode, `unknown setting '${key}'.`, suggest(key, fileSettings, 'settings'));
  }
  // After the loop: a route may come before the upstreams it names.
  if (routes !== undefined) settings.routes = readRoutes(r, routes, (settings.upstreams ?? []).map((u) => u.name));
  return settings;
};

/** Reads and parses a config file; `from` says who named it, for the error when it does not exist. */
export const readConfigFile = (file: string, env: NodeJS.ProcessEnv, from = 'MURMUR_CONFIG'): Settings => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`The config file '${file}' (${from}) does not exist.`, { hint: `Create it, or point ${from} at another file. ${SEE}` });
    throw new UsageError(`Cannot read the config file '${file}' (${from}): ${code === 'EISDIR' ? 'it is a directory' : (error as Error).message}.`);
  }
  return parseConfigFile(text, file, env);
};

/**
 * loadConfig with the config file between the environment and the flags:
 * the file `overrides.configFile` (serve --config) or MURMUR_CONFIG names,
 * else MURMUR_HOME/config.yaml when it exists. A named file that is missing
 * is an error; a missing default one is not.
 */
export const loadConfigWithFile = (env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config => {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<Config>;
  const plain = loadConfig(env, given);
  const file = plain.configFile ?? join(plain.home, 'config.yaml');
  if (plain.configFile === undefined && !existsSync(file)) return plain;
  const from = given.configFile !== undefined ? 'serve --config' : plain.configFile !== undefined ? 'MURMUR_CONFIG' : 'MURMUR_HOME/config.yaml';
  return loadConfig(env, { ...readConfigFile(file, env, from), ...given, configFile: file });
};
