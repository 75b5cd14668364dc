import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSettings, loadConfigWithFile, matchesRoute, mergeRouting, parseConfigFile, parseRouteFlag, parseUpstreamFlag, routeWarnings } from '../../src/config-file.js';
import { loadConfig, variables } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'murmur-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = join(dir, 'murmur.yaml');
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfigFile(text, FILE, env);
/** The UsageError a text raises, as "message | hint". */
const refusal = (text: string, env: NodeJS.ProcessEnv = {}): string => {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return `${(error as UsageError).message} | ${(error as UsageError).hint}`;
  }
  throw new Error(`no error for: ${text}`);
};
const UP = 'upstreams:\n  gpu: http://gpu-box:8000/v1\n';

describe('settings', () => {
  it('are the variables named as flags (snake_case too), parsed by the variables’ parsers', () => {
    expect(fileSettings).toEqual(expect.arrayContaining(['keep-alive', 'max-loaded', 'api-key', 'tls-cert', 'log-format', 'ollama-port', 'bind', 'port', 'grace']));
    expect(fileSettings).not.toContain('home');
    expect(parse('keep-alive: 5m\nmax_loaded: 2\napi-key: s3cret\nlog-format: pretty\nollama-port: 11434\nweb: false\ndebug: yes')).toEqual({
      keepAliveMs: 300_000, maxLoaded: 2, apiKey: 's3cret', logFormat: 'pretty', ollamaPort: 11434, web: false, debug: true,
    });
    // A bare number is seconds, as MURMUR_KEEP_ALIVE=300 is; a plain scalar is read as written.
    expect(parse('keep-alive: 300\napi-key: 0123')).toEqual({ keepAliveMs: 300_000, apiKey: '0123' });
    expect(parse('# nothing yet\n')).toEqual({});
  });

  it('take YAML lists for comma lists, and paths relative to the file', () => {
    expect(parse('cors: [https://a.example, https://b.example]\nallowed-hosts: box.lan')).toEqual({ cors: ['https://a.example', 'https://b.example'], allowedHosts: ['box.lan'] });
    expect(parse('tls-cert: certs/cert.pem\nimport-dirs: [models, /abs]')).toEqual({ tlsCert: join(dir, 'certs/cert.pem'), importDirs: [join(dir, 'models'), '/abs'] });
  });

  it('include bind, port and grace, which serve alone has', () => {
    expect(parse('bind: 0.0.0.0\nport: 8081\ngrace: 2s')).toEqual({ bind: '0.0.0.0', port: 8081, graceMs: 2000 });
  });

  it('refuse home and config, an unknown name (nearest suggested), and bad values, naming file, line and column', () => {
    expect(refusal('gpu: off\nhome: /x')).toMatch(new RegExp(`^${FILE}:2:1: home cannot be set in the config file.* \\| Set MURMUR_HOME or give --home`));
    expect(refusal('config: other.yaml')).toContain('config cannot be set in the config file');
    expect(refusal('parallel: 2\nkeep-alvie: 5m')).toBe(`${FILE}:2:1: unknown setting 'keep-alvie'. | Did you mean 'keep-alive'? See CONFIGURATION in \`man murmur-serve\`.`);
    expect(refusal('keep-alive: soon')).toMatch(new RegExp(`^${FILE}:1:13: keep-alive must be a duration .*not 'soon'\\. \\| keep-alive takes what MURMUR_KEEP_ALIVE takes`));
    expect(refusal('parallel: 0')).toContain(':1:11: parallel must be a whole number of 1 or more');
    expect(refusal('port: 99999')).toContain(':1:7: port must be a port number');
    expect(refusal('keep-alive: [1, 2]')).toContain(':1:13: keep-alive takes one value, not a list.');
    expect(refusal('gpu: {kind: cuda}')).toContain(':1:6: gpu must be a single value, not a mapping.');
    expect(refusal('keep_alive: 1m\nkeep-alive: 2m')).toContain(':2:1: keep-alive is set twice (first at line 1).');
  });

  it('refuse text that is not YAML, or not a mapping', () => {
    expect(refusal('parallel: 2\ncors: [a,\n')).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: not valid YAML: .+ \\| Check the indentation`));
    expect(refusal('a: 1\na: 2')).toContain('not valid YAML: Map keys must be unique');
    expect(refusal('- parallel: 2')).toContain(':1:1: the file must be a mapping');
  });
});

describe('upstreams', () => {
  it('take a URL (trailing slash dropped, no /v1 kept as written) and fill in the defaults', () => {
    const { upstreams } = parse('upstreams:\n  gpu:\n    url: http://gpu-box:8000/v1/\n    api-key: k\n    timeout: 30s\n    dialect: murmur\n    health_interval: 5\n  cpu: http://127.0.0.1:8080');
    expect(upstreams).toEqual([
      { name: 'gpu', url: 'http://gpu-box:8000/v1', apiKey: 'k', timeoutMs: 30_000, dialect: 'murmur', healthIntervalMs: 5000 },
      { name: 'cpu', url: 'http://127.0.0.1:8080', timeoutMs: 60_000, dialect: 'openai', healthIntervalMs: 10_000 },
    ]);
  });

  it('resolve api-key-env at load time; an unset variable is an error naming it', () => {
    const text = 'upstreams:\n  gpu:\n    url: https://gpu-box/v1\n    api-key-env: GPU_KEY\n';
    expect(parse(text, { GPU_KEY: 'from-env' }).upstreams![0]!.apiKey).toBe('from-env');
    expect(refusal(text)).toContain(':4:18: upstreams.gpu.api-key-env names GPU_KEY, which is not set. | Set GPU_KEY');
    expect(refusal(`${text}    api-key: x\n`)).toContain('upstreams.gpu has both api-key and api-key-env');
  });

  it('refuse a URL that is not http(s) or does not parse, a bad name, an unknown dialect or field', () => {
    expect(refusal('upstreams:\n  gpu: ftp://gpu-box/v1')).toContain(":2:8: upstreams.gpu must be an http or https URL such as http://gpu-box:8000/v1, not 'ftp://gpu-box/v1'.");
    expect(refusal('upstreams:\n  gpu:\n    url: "http://"')).toContain(':3:10: upstreams.gpu.url must be an http or https URL');
    expect(refusal('upstreams:\n  gpu box: http://h:1/v1')).toContain(":2:3: upstreams 'gpu box' is not a valid upstream name: use only letters, digits");
    expect(refusal('upstreams:\n  g:\n    url: http://h:1/v1\n    dialect: grpc')).toContain(":4:14: upstreams.g.dialect must be openai or murmur, not 'grpc'.");
    expect(refusal('upstreams:\n  g:\n    url: http://h:1/v1\n    timeuot: 5s')).toContain(":4:5: upstreams.g has an unknown field 'timeuot'. | Did you mean 'timeout'?");
    expect(refusal('upstreams:\n  g:\n    url: http://h:1/v1\n    timeout: 0')).toContain('upstreams.g.timeout must be a duration above zero');
    expect(refusal('upstreams:\n  g:\n    dialect: openai')).toContain(':2:3: upstreams.g has no url.');
  });
});

describe('routes', () => {
  it('keep file order, with replicas, renames and FILE:LINE sources', () => {
    const { routes } = parse(`routes:\n  - model: qwen3-70b\n    upstream: gpu\n    as: Qwen/Qwen3-70B-Instruct\n  - model: "llama-*"\n    upstream: [gpu, cpu]\n${UP}  cpu: http://cpu:8080/v1\n`);
    expect(routes).toEqual([
      { pattern: 'qwen3-70b', upstreams: ['gpu'], model: 'Qwen/Qwen3-70B-Instruct', source: `${FILE}:2` },
      { pattern: 'llama-*', upstreams: ['gpu', 'cpu'], source: `${FILE}:5` },
    ]);
  });

  it('take the short mapping form, where NAME:MODEL renames (split at the first colon)', () => {
    const { routes } = parse(`${UP}  cpu: http://cpu:8080/v1\nroutes: { "qwen3-70b": gpu, "llama-*": [gpu, cpu], qwen3-8b: "cpu:qwen3:8b", q: {upstream: gpu, as: Q} }\n`);
    expect(routes).toEqual([
      { pattern: 'qwen3-70b', upstreams: ['gpu'], source: `${FILE}:4` },
      { pattern: 'llama-*', upstreams: ['gpu', 'cpu'], source: `${FILE}:4` },
      { pattern: 'qwen3-8b', upstreams: ['cpu'], model: 'qwen3:8b', source: `${FILE}:4` },
      { pattern: 'q', upstreams: ['gpu'], model: 'Q', source: `${FILE}:4` },
    ]);
  });

  it('refuse a route to an unknown upstream (nearest suggested), or with none', () => {
    expect(refusal(`${UP}routes:\n  - model: a\n    upstream: gpv`)).toBe(
      `${FILE}:5:15: routes[0].upstream names the upstream 'gpv', which is not declared under upstreams. | Did you mean 'gpu'? See CONFIGURATION in \`man murmur-serve\`.`,
    );
    expect(refusal('routes:\n  - model: a\n    upstream: [gpu]')).toContain('| Declare it under `upstreams:` in this file');
    expect(refusal(`${UP}routes: { a: "nope:model" }`)).toContain("routes.a names the upstream 'nope'");
    expect(refusal(`${UP}routes:\n  - model: a`)).toContain(':4:5: routes[0] has no upstream.');
    expect(refusal(`${UP}routes:\n  - upstream: gpu`)).toContain('routes[0].model is missing or empty.');
  });
});

describe('keys', () => {
  it('become tenants with optional limits, from a literal or a variable', () => {
    const { keys } = parse('keys:\n  - name: alice\n    key: k1\n    requests-per-minute: 60\n    streams: 2\n    tokens_per_minute: 10000\n  - name: bob\n    key-env: BOB_KEY\n', { BOB_KEY: 'k2' });
    expect(keys).toEqual([
      { name: 'alice', key: 'k1', requestsPerMinute: 60, streams: 2, tokensPerMinute: 10_000 },
      { name: 'bob', key: 'k2' },
    ]);
  });

  it('refuse duplicate names or keys (the key never echoed), limits that are not positive whole numbers, and no key', () => {
    expect(refusal('keys:\n  - {name: a, key: x}\n  - {name: a, key: y}')).toContain(":3:12: keys[1].name 'a' is used twice (first at line 2).");
    expect(refusal('keys:\n  - {name: default, key: x}')).toContain(":2:12: keys[0].name 'default' is taken");
    const same = refusal('keys:\n  - {name: a, key: s3cret}\n  - {name: b, key: s3cret}');
    expect(same).toContain(":3:20: keys[1] ('b') has the same key as 'a'.");
    expect(same).not.toContain('s3cret');
    expect(refusal('keys:\n  - {name: a, key: x, streams: 0}')).toContain('keys[0].streams must be a whole number of 1 or more');
    expect(refusal('keys:\n  - {name: a, key: x, requests-per-minute: 1.5}')).toContain('keys[0].requests-per-minute must be a whole number');
    expect(refusal('keys:\n  - {name: a}')).toContain("keys[0] ('a') has no key.");
  });
});

describe('matchesRoute', () => {
  it('matches the whole name, case-sensitively, with * for any run and ? for one character', () => {
    expect(matchesRoute('qwen3-70b', 'qwen3-70b')).toBe(true);
    expect(matchesRoute('qwen3-70b', 'qwen3-70b-instruct')).toBe(false);
    expect(matchesRoute('llama-*', 'llama-')).toBe(true);
    expect(matchesRoute('llama-*', 'llama-3.1:8b')).toBe(true);
    expect(matchesRoute('llama-*', 'Llama-3')).toBe(false);
    expect(matchesRoute('*-70b', 'my-llama-70b')).toBe(true);
    expect(matchesRoute('qwen?', 'qwen3')).toBe(true);
    expect(matchesRoute('qwen?', 'qwen')).toBe(false);
    expect(matchesRoute('qwen?', 'qwen30')).toBe(false);
    // Other regex characters are literal.
    expect(matchesRoute('a.b+(c)*', 'a.b+(c)d')).toBe(true);
    expect(matchesRoute('a.b*', 'axb')).toBe(false);
  });
});

describe('routeWarnings', () => {
  const route = (pattern: string, source: string) => ({ pattern, upstreams: ['gpu'], source });
  it('names a later route an earlier one shadows, with both sources', () => {
    expect(routeWarnings([route('llama-*', 'a.yaml:3'), route('llama-3', 'a.yaml:5'), route('qwen3', 'a.yaml:7'), route('llama-*', 'a.yaml:9')])).toEqual([
      "route 'llama-3' (a.yaml:5) is never used: route 'llama-*' (a.yaml:3) comes first and matches it, and the first match wins",
      "route 'llama-*' (a.yaml:9) is never used: route 'llama-*' (a.yaml:3) comes first and matches it, and the first match wins",
    ]);
    expect(routeWarnings([route('qwen3', '--route'), route('qwen3', 'a.yaml:2')])).toEqual([expect.stringMatching(/^route 'qwen3' \(a\.yaml:2\) is never used: route 'qwen3' \(--route\)/)]);
  });
  it('says nothing when the later route can still match', () => {
    expect(routeWarnings([route('llama-3', 'a:1'), route('llama-*', 'a:2'), route('qwen?', 'a:3'), route('qwen', 'a:4')])).toEqual([]);
  });
});

describe('serve --upstream and --route', () => {
  it('parse NAME=URL and MODEL=NAME[,NAME][:UPSTREAM_MODEL], splitting at the first colon after =', () => {
    expect(parseUpstreamFlag('gpu=http://gpu-box:8000/v1/')).toEqual({ name: 'gpu', url: 'http://gpu-box:8000/v1', timeoutMs: 60_000, dialect: 'openai', healthIntervalMs: 10_000 });
    expect(parseRouteFlag('qwen3-70b=gpu')).toEqual({ pattern: 'qwen3-70b', upstreams: ['gpu'], source: '--route' });
    expect(parseRouteFlag('llama-*=a,b')).toEqual({ pattern: 'llama-*', upstreams: ['a', 'b'], source: '--route' });
    expect(parseRouteFlag('qwen3=gpu:qwen3:8b')).toEqual({ pattern: 'qwen3', upstreams: ['gpu'], model: 'qwen3:8b', source: '--route' });
    expect(() => parseUpstreamFlag('http://gpu-box:8000/v1')).toThrow('--upstream must be NAME=URL');
    expect(() => parseUpstreamFlag('gpu=gpu-box:8000')).toThrow('--upstream gpu must be an http or https URL');
    expect(() => parseRouteFlag('qwen3')).toThrow('--route must be MODEL=UPSTREAM');
    expect(() => parseRouteFlag('qwen3=a,,b')).toThrow('--route qwen3 must name upstreams as NAME or NAME,NAME');
  });

  it('merge with the file: a flag upstream gives one of its name a new URL (its key and the rest stay), flag routes come first, each naming a known upstream', () => {
    const file = parse(`${UP}  cpu: http://cpu:8080/v1\nroutes: { qwen3: cpu }`);
    const merged = mergeRouting({ upstreams: file.upstreams!, routes: file.routes! }, [parseUpstreamFlag('gpu=http://other:9000/v1')], [parseRouteFlag('qwen3=gpu')]);
    expect(merged.upstreams.map((u) => `${u.name} ${u.url}`)).toEqual(['cpu http://cpu:8080/v1', 'gpu http://other:9000/v1']);
    const declared = file.upstreams!.find((u) => u.name === 'gpu')!;
    expect(merged.upstreams.find((u) => u.name === 'gpu')).toEqual({ ...declared, url: 'http://other:9000/v1' });
    expect(merged.routes.map((r) => `${r.pattern} ${r.upstreams.join(',')} ${r.source}`)).toEqual(['qwen3 gpu --route', `qwen3 cpu ${FILE}:4`]);
    expect(() => mergeRouting({ upstreams: [], routes: [] }, [], [parseRouteFlag('a=gpu')])).toThrow("--route a names the upstream 'gpu', which is not declared.");
    expect(() => mergeRouting({ upstreams: [], routes: [] }, [parseUpstreamFlag('a=http://h:1'), parseUpstreamFlag('a=http://h:2')], [])).toThrow('--upstream a is given twice.');
  });
});

describe('loadConfigWithFile', () => {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const other = join(dir, 'other.yaml');
  writeFileSync(other, 'parallel: 3\nkeep-alive: 1m\napi-key: from-file\n');

  it('layers defaults < environment < file < flags', () => {
    const env = { MURMUR_HOME: home, MURMUR_CONFIG: other, MURMUR_PARALLEL: '7', MURMUR_MAX_LOADED: '5', MURMUR_API_KEY: 'from-env' };
    expect(loadConfigWithFile(env)).toMatchObject({ parallel: 3, keepAliveMs: 60_000, maxLoaded: 5, apiKey: 'from-file', configFile: other });
    expect(loadConfigWithFile(env, { parallel: 9, apiKey: undefined })).toMatchObject({ parallel: 9, apiKey: 'from-file' });
  });

  it('reads MURMUR_HOME/config.yaml when present, else nothing; a file named explicitly must exist', () => {
    expect(loadConfigWithFile({ MURMUR_HOME: home }).configFile).toBeUndefined();
    writeFileSync(join(home, 'config.yaml'), 'max-loaded: 2\n');
    expect(loadConfigWithFile({ MURMUR_HOME: home })).toMatchObject({ maxLoaded: 2, configFile: join(home, 'config.yaml') });
    // serve --config wins over MURMUR_CONFIG and the default file.
    expect(loadConfigWithFile({ MURMUR_HOME: home, MURMUR_CONFIG: join(dir, 'missing.yaml') }, { configFile: other })).toMatchObject({ parallel: 3, maxLoaded: 4 });
    expect(() => loadConfigWithFile({ MURMUR_HOME: home, MURMUR_CONFIG: join(dir, 'missing.yaml') })).toThrow(`The config file '${join(dir, 'missing.yaml')}' (MURMUR_CONFIG) does not exist.`);
    expect(() => loadConfigWithFile({ MURMUR_HOME: home }, { configFile: dir })).toThrow('(serve --config): it is a directory');
  });

  it('leaves loadConfig reading no file', () => {
    writeFileSync(join(home, 'config.yaml'), 'max-loaded: 2\n');
    expect(loadConfigWithFile({ MURMUR_HOME: home }).maxLoaded).toBe(2);
    expect(loadConfig({ MURMUR_HOME: home })).toMatchObject({ maxLoaded: 4 });
    expect(loadConfig({ MURMUR_HOME: home }).configFile).toBeUndefined();
    expect(variables.find((v) => v.name === 'MURMUR_CONFIG')?.key).toBe('configFile');
  });
});
