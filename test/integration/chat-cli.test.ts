import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../commands/index.js';
import type { CommandContext } from '../../commands/context.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { ModelNotDownloadedError, ModelNotFoundError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest } from '../../src/types/chat.js';
import type { PullOptions } from '../../src/store/types.js';
import { createFakeChatRuntime, fakeModel, type FakeChatRuntime } from '../helpers/fake-chat-runtime.js';

// chat gets its Runtime from commands/runtime.ts; here it gets a fake that records what it was asked.
const opened = vi.hoisted(() => ({ runtime: undefined as unknown, options: [] as unknown[] }));
vi.mock('../../commands/runtime.js', () => ({
  openRuntime: async (_ctx: unknown, options: unknown) => {
    opened.options.push(options);
    return opened.runtime;
  },
}));

let dir: string;
let fake: FakeChatRuntime;
let pulls: string[];

const wrap = (inner: FakeChatRuntime, models: string[]): Runtime => {
  const installed = new Set(models);
  // Like the store: installed, or a catalog name not downloaded yet, or unknown.
  const getModel = async (name: string) => {
    if (installed.has(name)) return fakeModel(name);
    if ((await loadCatalog()).find(name)) throw new ModelNotDownloadedError(name);
    return inner.getModel(name).catch(() => Promise.reject(new ModelNotFoundError(name)));
  };
  return {
    config: loadConfig({ MURMUR_HOME: dir }),
    getModel,
    listModels: async () => [...installed].map((name) => fakeModel(name)),
    // Like the real runtimes, an unknown model fails the request.
    chat: async (request: ChatRequest) => (await getModel(request.model), inner.chat(request)),
    pull: async (ref: string, options?: PullOptions) => {
      pulls.push(ref);
      options?.onProgress?.({ status: 'downloading', model: ref, file: `${ref}.gguf`, completed: 5, total: 10 });
      options?.onProgress?.({ status: 'success', model: ref, path: join(dir, ref), reused: false });
      installed.add(ref);
      return fakeModel(ref);
    },
    [Symbol.asyncDispose]: async () => {},
  } as unknown as Runtime;
};

const context = (input: { stdin?: string; tty?: boolean; controller?: AbortController } = {}) => {
  const stdin = Object.assign(input.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(input.stdin)]), { isTTY: input.tty ?? false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const ctx: CommandContext = {
    env: { MURMUR_HOME: dir },
    stdin,
    stdout,
    stderr,
    signal: (input.controller ?? new AbortController()).signal,
    config: (overrides) => loadConfig({ MURMUR_HOME: dir }, overrides),
  };
  return { ctx, out: () => out, err: () => err };
};

const chat = async (args: string[], input: Parameters<typeof context>[0] = {}) => {
  const c = context(input);
  const code = await run(['node', 'murmur', 'chat', ...args], c.ctx);
  return { code, stdout: c.out(), stderr: c.err() };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'murmur-chat-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake = createFakeChatRuntime({ models: ['tiny'] });
  pulls = [];
  opened.runtime = wrap(fake, []);
  opened.options = [];
});

describe('murmur chat, piped or with a prompt', () => {
  it('answers a prompt argument on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await chat(['tiny', 'hello', 'world'], { tty: true });
    expect(code).toBe(0);
    expect(stdout).toBe('You said: hello world\n');
    expect(stderr).toBe('');
    expect(fake.requests[0].messages).toEqual([{ role: 'user', content: 'hello world' }]);
  });

  it('reads the prompt from stdin', async () => {
    const { code, stdout } = await chat(['tiny'], { stdin: 'from the pipe\n' });
    expect(code).toBe(0);
    expect(stdout).toBe('You said: from the pipe\n');
  });

  it('puts the argument first and stdin after it, with a blank line between', async () => {
    const { code } = await chat(['tiny', 'Summarize:'], { stdin: 'a long text\n' });
    expect(code).toBe(0);
    expect(fake.requests[0].messages.at(-1)?.content).toBe('Summarize:\n\na long text');
  });

  it('--json prints one JSON object with text, usage and timings', async () => {
    const { code, stdout } = await chat(['tiny', '--json'], { stdin: 'json please' });
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const body = JSON.parse(lines[0]);
    expect(body).toMatchObject({ model: 'tiny', text: 'You said: json please', finishReason: 'stop', usage: { completionTokens: 4 } });
    expect(body.timings.tokensPerSecond).toBeGreaterThan(0);
  });

  it('passes --system and the sampling flags through, and --local / --host to the runtime', async () => {
    const { code } = await chat(['tiny', 'hi', '--system', 'Be kind.', '--temperature', '0.5', '--top-p', '0.9', '--seed', '7', '--max-tokens', '2', '--local'], { tty: true });
    expect(code).toBe(0);
    expect(fake.requests[0]).toMatchObject({ temperature: 0.5, topP: 0.9, seed: 7, maxTokens: 2, messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'hi' }] });
    expect(opened.options[0]).toMatchObject({ local: true });
    await chat(['tiny', 'hi', '--host', 'http://127.0.0.1:1'], { tty: true });
    expect(opened.options[1]).toMatchObject({ host: 'http://127.0.0.1:1' });
  });

  it.each([
    ['--temperature', 'hot'],
    ['--temperature', '-1'],
    ['--top-p', '0'],
    ['--seed', '1.5'],
    ['--max-tokens', '0'],
  ])('rejects %s %s as a usage error (exit 2) before opening a runtime', async (flag, value) => {
    const { code, stdout, stderr } = await chat(['tiny', 'hi', flag, value], { tty: true });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(flag);
    expect(stderr).toContain(`'${value}'`);
    expect(opened.options).toEqual([]);
  });

  it('sends --json-schema as a json_schema response format', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    const file = join(dir, 'person.json');
    await writeFile(file, JSON.stringify(schema));
    const { code } = await chat(['tiny', 'someone', '--json-schema', file], { tty: true });
    expect(code).toBe(0);
    expect(fake.requests[0].responseFormat).toEqual({ type: 'json_schema', schema });
  });

  it('names a missing or malformed --json-schema file', async () => {
    const missing = join(dir, 'nope.json');
    const gone = await chat(['tiny', 'x', '--json-schema', missing], { tty: true });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(missing);
    expect(gone.stderr).not.toMatch(/\n\s+at /);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ not json');
    const broken = await chat(['tiny', 'x', '--json-schema', bad], { tty: true });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(bad);
    expect(broken.stderr).toMatch(/not valid JSON/);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses an empty prompt with a usage error', async () => {
    const { code, stderr } = await chat(['tiny'], { stdin: '  \n' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/No prompt/);
  });

  it('reports an unknown model with its hint, without a stack', async () => {
    // A lone word that looks like a model name, the prompt piped: it was meant as a model.
    const { code, stderr } = await chat(['ghost-1'], { stdin: 'hi' });
    expect(code).toBe(1);
    expect(stderr).toContain("Unknown model 'ghost-1'");
    expect(stderr).toContain('murmur list --all');
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(pulls).toEqual([]);
  });

  it('pulls a named catalog model that is not downloaded yet, then answers (as `ollama run` does)', async () => {
    const { code, stdout, stderr } = await chat(['qwen3-1.7b', 'hi'], { tty: true });
    expect(code).toBe(0);
    expect(pulls).toEqual(['qwen3-1.7b']);
    expect(stderr).toContain('pulling qwen3-1.7b');
    expect(fake.requests[0].model).toBe('qwen3-1.7b');
    expect(stdout).toBe('You said: hi\n');
  });

  it('Ctrl-C mid-answer stops it and exits 130, keeping what was printed', async () => {
    fake = createFakeChatRuntime({ models: ['tiny'], delayMs: 30, reply: () => 'a b c d e f g h i j k l m n o p' });
    opened.runtime = wrap(fake, []);
    const controller = new AbortController();
    const c = context({ stdin: 'go', controller });
    const done = run(['node', 'murmur', 'chat', 'tiny'], c.ctx);
    await vi.waitFor(() => expect(c.out()).toMatch(/a b /), { timeout: 20_000, interval: 10 });
    controller.abort(new DOMException('Interrupted', 'AbortError'));
    expect(await done).toBe(130);
    expect(fake.outcomes).toEqual(['aborted']);
    expect(c.out()).toMatch(/^a b [^]*\n$/);
    expect(c.out()).not.toContain('p');
  });

  it('takes a lone argument with spaces as the prompt for the default model', async () => {
    const fallback = (await loadCatalog()).defaultFor('chat')!.name;
    opened.runtime = wrap(fake, [fallback]);
    const { code, stdout } = await chat(['Why is the sky blue?'], { tty: true });
    expect(code).toBe(0);
    expect(pulls).toEqual([]);
    expect(fake.requests[0]).toMatchObject({ model: fallback, messages: [{ role: 'user', content: 'Why is the sky blue?' }] });
    expect(stdout).toBe('You said: Why is the sky blue?\n');
  });

  it('with no model, pulls the catalog default chat model first, then answers', async () => {
    const { code, stdout, stderr } = await chat([], { stdin: 'hi' });
    expect(code).toBe(0);
    expect(pulls).toEqual([(await loadCatalog()).defaultFor('chat')!.name]);
    expect(stderr).toContain(pulls[0]);
    expect(fake.requests[0].model).toBe(pulls[0]);
    expect(stdout).toBe('You said: hi\n');
  });
});

describe('murmur chat flags', () => {
  it('takes the model from -m/--model, every word being the prompt', async () => {
    opened.runtime = wrap(fake, ['tiny']);
    const short = await chat(['-m', 'tiny', 'hello', 'world'], { tty: true });
    expect(short.code).toBe(0);
    expect(fake.requests[0]).toMatchObject({ model: 'tiny', messages: [{ role: 'user', content: 'hello world' }] });
    const long = await chat(['--model', 'tiny', 'hi'], { tty: true });
    expect(long.code).toBe(0);
    expect(fake.requests[1]).toMatchObject({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('`murmur chat hello` asks the default model "hello" instead of failing on an unknown model', async () => {
    const fallback = (await loadCatalog()).defaultFor('chat')!.name;
    opened.runtime = wrap(fake, [fallback]);
    const { code, stdout, stderr } = await chat(['hello', 'there'], { tty: true });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(fake.requests[0]).toMatchObject({ model: fallback, messages: [{ role: 'user', content: 'hello there' }] });
    expect(stdout).toBe('You said: hello there\n');
    // A word that looks like a model name gets a one-line note on stderr.
    const noted = await chat(['qwen9-99b', 'hi'], { tty: true });
    expect(noted.code).toBe(0);
    expect(noted.stderr).toMatch(new RegExp(`^murmur: 'qwen9-99b' is not a model; sending it as part of the prompt to ${fallback} \\(did you mean \\S+\\? use -m to name a model\\)\n$`));
    expect(fake.requests[1].messages.at(-1)?.content).toBe('qwen9-99b hi');
    // A plain word that is close to an installed model's name is noted too; one that is not (nor short and two edits away: Why/phi) is not.
    opened.runtime = wrap(fake, [fallback, 'tiny']);
    const close = await chat(['tinyy', 'hi'], { tty: true });
    expect(close.stderr).toBe(`murmur: 'tinyy' is not a model; sending it as part of the prompt to ${fallback} (did you mean tiny? use -m to name a model)\n`);
    const plain = await chat(['Why', 'is', 'the', 'sky', 'blue'], { tty: true });
    expect(plain.stderr).toBe('');
  });

  it('`murmur chat Why is the sky blue` with no chat model installed pulls the catalog default, then asks it', async () => {
    const fallback = (await loadCatalog()).defaultFor('chat')!.name;
    const { code, stdout, stderr } = await chat(['Why', 'is', 'the', 'sky', 'blue'], { tty: true });
    expect(code).toBe(0);
    expect(pulls).toEqual([fallback]);
    expect(stderr).toContain(`No chat model is installed; pulling ${fallback}.`);
    expect(stderr).not.toContain('Unknown model');
    expect(fake.requests[0]).toMatchObject({ model: fallback, messages: [{ role: 'user', content: 'Why is the sky blue' }] });
    expect(stdout).toBe('You said: Why is the sky blue\n');
  });

  it('reads the prompt from stdin when it is -', async () => {
    opened.runtime = wrap(fake, ['tiny']);
    const named = await chat(['tiny', '-'], { stdin: 'from stdin', tty: true });
    expect(named.code).toBe(0);
    expect(named.stdout).toBe('You said: from stdin\n');
    const fallback = (await loadCatalog()).defaultFor('chat')!.name;
    opened.runtime = wrap(fake, [fallback]);
    const bare = await chat(['-'], { stdin: 'only stdin', tty: true });
    expect(bare.code).toBe(0);
    expect(fake.requests[1]).toMatchObject({ model: fallback, messages: [{ role: 'user', content: 'only stdin' }] });
  });

  it('gives a reply with no --max-tokens a budget, not the whole context', async () => {
    opened.runtime = wrap(fake, ['tiny']);
    await chat(['tiny', 'hi'], { tty: true });
    expect(fake.requests[0].maxTokens).toBe(1024);
  });
});

/** A terminal's stdin as ink reads it (raw mode, 'readable' then read()). */
class FakeTtyStdin extends EventEmitter {
  isTTY = true;
  private pending: string | null = null;
  write(data: string) {
    this.pending = data;
    this.emit('readable');
  }
  read() {
    const data = this.pending;
    this.pending = null;
    return data;
  }
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

describe('murmur chat on a terminal', () => {
  it('runs the chat UI: a message gets a streamed answer, Ctrl-C twice leaves with exit 0', async () => {
    const stdin = new FakeTtyStdin();
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 });
    let screen = '';
    stdout.on('data', (chunk) => (screen += chunk));
    const ctx: CommandContext = {
      env: { MURMUR_HOME: dir },
      stdin: stdin as unknown as CommandContext['stdin'],
      stdout,
      stderr: new PassThrough(),
      signal: new AbortController().signal,
      config: (overrides) => loadConfig({ MURMUR_HOME: dir }, overrides),
    };
    const done = run(['node', 'murmur', 'chat', 'tiny', '--system', 'Be brief.'], ctx);
    await vi.waitFor(() => expect(screen).toContain('Chatting with tiny'), { timeout: 20_000, interval: 10 });
    stdin.write('hello UI');
    await new Promise((resolve) => setTimeout(resolve, 20));
    stdin.write('\r');
    await vi.waitFor(() => expect(screen).toMatch(/You said: hello UI[\s\S]*tokens\/s/), { timeout: 20_000, interval: 10 });
    expect(fake.requests[0].messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello UI' }]);
    stdin.write('\u0003');
    await vi.waitFor(() => expect(screen).toMatch(/Ctrl-C again/), { timeout: 20_000, interval: 10 });
    stdin.write('\u0003');
    expect(await done).toBe(0);
  });
});
