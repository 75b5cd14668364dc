import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { unlessCi } from './ci.js';

/*
 * Two more engines for the page's tests, beside playwright-core's chromium
 * (test/helpers/browser.ts): Debian's firefox-esr over WebDriver BiDi (its
 * own, over a WebSocket), and WebKitGTK (Safari's engine) through
 * WebKitWebDriver, a W3C WebDriver classic server (JSON over HTTP) run under
 * xvfb-run because its MiniBrowser needs a display. Playwright's own Firefox
 * and WebKit builds cannot be downloaded here, and its BiDi channel asks
 * firefox-esr for commands it does not have, so these are small clients of
 * the standard protocols. Both give the same few operations; the tests drive
 * the page by evaluating scripts in it.
 */

export const FIREFOX = process.env.MURMUR_TEST_FIREFOX ?? '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.MURMUR_TEST_WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver';
const XVFB_RUN = '/usr/bin/xvfb-run';

/** Why the Firefox tests cannot run here, or undefined when they can. */
export const missingFirefox = (): string | undefined => unlessCi(existsSync(FIREFOX) ? undefined : `no firefox at ${FIREFOX} (apt-get install firefox-esr)`);
/** Why the WebKit tests cannot run here, or undefined when they can. */
export const missingWebKit = (): string | undefined =>
  unlessCi(!existsSync(WEBKIT_DRIVER) ? `no WebKitWebDriver at ${WEBKIT_DRIVER} (apt-get install webkit2gtk-driver)` : !existsSync(XVFB_RUN) ? `no xvfb-run (apt-get install xvfb xauth)` : undefined);

/** What page-side functions touch: DOM objects, which the tests' tsconfig (Node's types) does not describe. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InPage = any;

/** A function run in the page: its arguments and result travel as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PageFunction = (...args: any[]) => unknown;

export interface PageDriver {
  /** The engine and its version, as the driver names them. */
  readonly engine: string;
  /** Loads `url` afresh in the one tab (a new document even when only the hash differs), waits for its load event, and from then on keeps the page's uncaught errors for `errors`. */
  open(url: string): Promise<void>;
  /** The uncaught errors and unhandled rejections in the page since the last call or `open` (a reload by the page itself loses them). */
  errors(): Promise<string[]>;
  /** Calls `fn(...args)` in the page (awaiting a promise it returns) and resolves with its result, through JSON. */
  evaluate<T>(fn: PageFunction, ...args: unknown[]): Promise<T>;
  /** Calls `fn(...args)` in the page until it returns something truthy (which it resolves with); `what` names it in the timeout's error. */
  waitFor<T>(what: string, fn: PageFunction, args?: unknown[], timeoutMs?: number): Promise<T>;
  /** Gives the file input matching `selector` the file at `path`, as a user picking it would (it fires input and change). */
  setFile(selector: string, path: string): Promise<void>;
  close(): Promise<void>;
}

/** The page-side wrapper: arguments in and the result out as JSON strings, which both protocols carry unchanged. */
const wrapped = (fn: PageFunction) => `async (json) => JSON.stringify((await (${fn.toString()})(...JSON.parse(json))) ?? null)`;

/** Keeps the page's uncaught errors in a global that `errors` reads. */
const watchErrors = () => {
  const g = globalThis as InPage;
  if (g.__pageErrors) return true;
  g.__pageErrors = [];
  g.addEventListener('error', (e: InPage) => g.__pageErrors.push(`${e.message} (${e.filename}:${e.lineno})`));
  g.addEventListener('unhandledrejection', (e: InPage) => g.__pageErrors.push(`unhandled rejection: ${e.reason?.stack ?? e.reason}`));
  return true;
};
const takeErrors = () => ((globalThis as InPage).__pageErrors ?? []).splice(0);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Ends a driver started with `detached` (its own process group: the browser's children too) and waits for it. */
const endGroup = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const late = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 3000);
  await exited;
  clearTimeout(late);
};

const waitLoop = async <T>(driver: Pick<PageDriver, 'evaluate'>, what: string, fn: PageFunction, args: unknown[], timeoutMs: number): Promise<T> => {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await driver.evaluate<T>(fn, ...args).catch((error: unknown) => ({ error: String(error) }));
    if (last && !(typeof last === 'object' && 'error' in last)) return last as T;
    if (Date.now() > until) {
      const body = await driver.evaluate<string>(() => (globalThis as InPage).document.body?.innerText ?? '').catch(() => '?');
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)}); the page said:\n${body.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
};

/*
 * Firefox: none of its background services may reach past 127.0.0.1, so the
 * profile sends everything through a proxy on a closed local port and turns
 * off what would phone home.
 */
const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
  'network.proxy.allow_hijacking_localhost': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.newtabpage.enabled': false,
  'browser.region.network.url': '',
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  'messaging-system.rsexperimentloader.enabled': false,
  'media.autoplay.default': 0,
};

/** firefox-esr, headless, on a fresh profile, over its own WebDriver BiDi server. */
export const launchFirefox = async (): Promise<PageDriver> => {
  const profile = mkdtempSync(join(tmpdir(), 'murmur-firefox-'));
  writeFileSync(join(profile, 'user.js'), Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  const child = spawn(FIREFOX, ['--headless', '--no-remote', '--remote-debugging-port=0', '--profile', profile, 'about:blank'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`firefox gave no WebDriver BiDi address in 30 s:\n${stderr}`)), 30_000);
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`firefox exited (${code}) before it listened:\n${stderr}`)));
  });
  const socket = new WebSocket(`${endpoint}/session`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; type: string; result?: Record<string, unknown>; error?: string; message?: string };
    if (message.id === undefined) return; // an event: none is subscribed to
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'success') waiter?.resolve(message.result!);
    else waiter?.reject(new Error(`${message.error}: ${message.message}`));
  });
  socket.on('close', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`firefox's WebDriver BiDi connection closed:\n${stderr.slice(-2000)}`));
    pending.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const n = ++id;
      pending.set(n, { resolve, reject });
      socket.send(JSON.stringify({ id: n, method, params }));
    });

  const session = (await send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: true, unhandledPromptBehavior: { default: 'dismiss' } } } })) as {
    capabilities: { browserName: string; browserVersion: string };
  };
  const tree = (await send('browsingContext.getTree')) as { contexts: { context: string }[] };
  const context = tree.contexts[0]!.context;

  const call = async (declaration: string, args: unknown[], resultOwnership: 'none' | 'root' = 'none') => {
    const result = (await send('script.callFunction', {
      functionDeclaration: declaration,
      arguments: args.map((value) => ({ type: 'string', value: JSON.stringify(value) })),
      target: { context },
      awaitPromise: true,
      resultOwnership,
    })) as { type: 'success' | 'exception'; result?: { type: string; value?: unknown; sharedId?: string }; exceptionDetails?: { text: string } };
    if (result.type === 'exception') throw new Error(`in firefox's page: ${result.exceptionDetails?.text}`);
    return result.result!;
  };
  const driver: PageDriver = {
    engine: `${session.capabilities.browserName} ${session.capabilities.browserVersion}`,
    async open(url) {
      // By way of about:blank, so a URL that differs from the current one only in its hash loads afresh too.
      await send('browsingContext.navigate', { context, url: 'about:blank', wait: 'complete' });
      await send('browsingContext.navigate', { context, url, wait: 'complete' });
      await driver.evaluate(watchErrors);
    },
    errors: () => driver.evaluate<string[]>(takeErrors),
    async evaluate<T>(fn: PageFunction, ...args: unknown[]) {
      const out = await call(wrapped(fn), [args]);
      return JSON.parse(out.value as string) as T;
    },
    waitFor: (what, fn, args = [], timeoutMs = 20_000) => waitLoop(driver, what, fn, args, timeoutMs),
    async setFile(selector, path) {
      const element = await call('(json) => document.querySelector(JSON.parse(json))', [selector]);
      if (!element.sharedId) throw new Error(`no element matches ${selector}`);
      await send('input.setFiles', { context, element: { sharedId: element.sharedId }, files: [path] });
    },
    async close() {
      await send('session.end').catch(() => undefined);
      socket.close();
      await endGroup(child);
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return driver;
};

/** The key of a web element reference in WebDriver classic. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** WebKitGTK's MiniBrowser, through WebKitWebDriver on a display of its own (xvfb-run). */
export const launchWebKit = async (): Promise<PageDriver> => {
  const port = await freePort();
  const child = spawn(XVFB_RUN, ['-a', WEBKIT_DRIVER, `--port=${port}`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const base = `http://127.0.0.1:${port}`;
  const http = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }) });
    const json = (await res.json()) as { value: { error?: string; message?: string } & Record<string, unknown> };
    if (!res.ok) throw new Error(`WebKitWebDriver ${method} ${path}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  };
  const until = Date.now() + 30_000;
  for (;;) {
    const ready = await http('GET', '/status').catch(() => undefined);
    if (ready?.ready) break;
    if (child.exitCode !== null || Date.now() > until) {
      await endGroup(child);
      throw new Error(`WebKitWebDriver did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const session = (await http('POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { args: ['--automation'] } } } })) as {
    sessionId: string;
    capabilities: { browserName: string; browserVersion: string };
  };
  const at = `/session/${session.sessionId}`;
  const script = (fn: string) => `const done = arguments[arguments.length - 1]; (${fn})(arguments[0]).then((value) => done({ value }), (error) => done({ error: String(error && error.stack || error) }));`;
  const driver: PageDriver = {
    engine: `${session.capabilities.browserName} ${session.capabilities.browserVersion}`,
    async open(url) {
      await http('POST', `${at}/url`, { url: 'about:blank' });
      await http('POST', `${at}/url`, { url });
      await driver.evaluate(watchErrors);
    },
    errors: () => driver.evaluate<string[]>(takeErrors),
    async evaluate<T>(fn: PageFunction, ...args: unknown[]) {
      const out = (await http('POST', `${at}/execute/async`, { script: script(wrapped(fn)), args: [JSON.stringify(args)] })) as { value?: string; error?: string };
      if (out.error !== undefined) throw new Error(`in webkit's page: ${out.error}`);
      return JSON.parse(out.value!) as T;
    },
    waitFor: (what, fn, args = [], timeoutMs = 20_000) => waitLoop(driver, what, fn, args, timeoutMs),
    async setFile(selector, path) {
      const element = (await http('POST', `${at}/element`, { using: 'css selector', value: selector })) as Record<string, string>;
      await http('POST', `${at}/element/${element[ELEMENT]}/value`, { text: path });
    },
    async close() {
      await http('DELETE', at).catch(() => undefined);
      await endGroup(child);
    },
  };
  return driver;
};
