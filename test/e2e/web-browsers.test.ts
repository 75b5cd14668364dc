import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';
import { launchFirefox, launchWebKit, missingFirefox, missingWebKit, type InPage, type PageDriver } from '../helpers/webdriver.js';

/**
 * The core of the page in the engines beside chromium (whose tests are the
 * other web-*.test.ts): Firefox (Debian's firefox-esr, over WebDriver BiDi)
 * and Safari's engine (WebKitGTK, over WebDriver classic), each on a real
 * `murmur serve` with an API key and the shared models: the shell and the
 * key prompt, the Models view, a streamed chat reply and Markdown shown
 * safely, Speak's wav and mp3 in an <audio> element with their duration, a
 * picked and a dropped WAV transcribed, Status and its chart; no test leaves
 * an uncaught error in the page. The page is driven by scripts evaluated in
 * it (values set, input events dispatched, buttons clicked), which both
 * protocols do alike. Each engine's tests share one tab, in order: the first
 * enters the key the rest use.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const YESNO = 'yesno-tdnn-ctc/model.onnx';
const KEY = 'web-browsers-key';
const models = missingModels(GGUF, VOICE, YESNO);
const SENTENCE = 'The quick brown fox jumps over the lazy dog.';
const yesnoWav = () => join(dirname(testModel(YESNO)!), 'test_wavs', '1_0_1_1_1_0_1_0.wav');

const engines: { name: string; skip: string | undefined; launch: () => Promise<PageDriver> }[] = [
  { name: 'Firefox', skip: missingFirefox() ?? models, launch: launchFirefox },
  { name: 'WebKit', skip: missingWebKit() ?? models, launch: launchWebKit },
];

/* Page-side helpers: each is sent as its source, so each stands alone. */

/** Sets a form control's value as typing or picking would: the value, then input and change events. */
const fill = (selector: string, value: string) => {
  const el = (globalThis as InPage).document.querySelector(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  return true;
};
/** Clicks the button whose text is `text` (an enabled one), or answers false while there is none. */
const click = (text: string) => {
  const button = [...(globalThis as InPage).document.querySelectorAll('button')].find((b: InPage) => b.textContent.trim() === text && !b.disabled);
  if (!button) return false;
  button.click();
  return true;
};
/** The text of the first element matching `selector`, or '' while there is none. */
const textOf = (selector: string): string => (globalThis as InPage).document.querySelector(selector)?.textContent ?? '';

const skipAll = engines.every((e) => e.skip) ? [...new Set(engines.map((e) => e.skip))].join('; ') : undefined;

describe.skipIf(skipAll)(`the page in Firefox and WebKit${skipAll ? ` (skipped: ${skipAll})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: KEY, MURMUR_DEBUG: '', MURMUR_HOST: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-browsers-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** The seconds of SENTENCE as the API synthesizes it (a WAV: its sample count over its rate). */
  const apiSeconds = async (): Promise<number> => {
    const res = await fetch(`${daemon.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'voice', input: SENTENCE, response_format: 'wav' }),
    });
    expect(res.status).toBe(200);
    const { samples, sampleRate } = readWav(new Uint8Array(await res.arrayBuffer()));
    return samples.length / sampleRate;
  };

  for (const engine of engines) {
    describe.skipIf(engine.skip)(`in ${engine.name}${engine.skip ? ` (skipped: ${engine.skip})` : ''}`, () => {
      let page: PageDriver;
      beforeAll(async () => {
        page = await engine.launch();
      }, 60_000);
      afterAll(async () => {
        await page?.close();
      });
      // No test leaves an uncaught error or unhandled rejection in the page.
      afterEach(async () => {
        expect(await page.errors()).toEqual([]);
      });
      /** Switches the view by the hash, as the tabs do, and waits for its heading. */
      const view = async (hash: string, heading: string) => {
        await page.evaluate((h: string) => ((globalThis as InPage).location.hash = h), hash);
        await page.waitFor(`the ${heading} view`, (h: string) => (globalThis as InPage).document.querySelector('main h2')?.textContent === h, [heading]);
      };

      it('renders the shell, asks for the key once and keeps it', async () => {
        await page.open(`${daemon.url}/#models`);
        await page.waitFor('the key prompt', () => !!(globalThis as InPage).document.querySelector('input[aria-label="API key"]'));
        await page.evaluate(fill, 'input[aria-label="API key"]', 'wrong');
        expect(await page.evaluate(click, 'Use this key')).toBe(true);
        await page.waitFor('the refusal', () => (globalThis as InPage).document.querySelector('.key-prompt')?.textContent.includes('The key was refused'));
        await page.evaluate(fill, 'input[aria-label="API key"]', KEY);
        expect(await page.evaluate(click, 'Use this key')).toBe(true);
        await page.waitFor('the Models view', () => (globalThis as InPage).document.querySelector('main h2')?.textContent === 'Models');
        // The views' tabs, the daemon's version, and no key prompt after a reload.
        expect(await page.evaluate(() => [...(globalThis as InPage).document.querySelectorAll('nav[aria-label="Views"] a')].map((a: InPage) => a.textContent))).toEqual([
          'Chat',
          'Talk',
          'Speak',
          'Transcribe',
          'Models',
          'Status',
        ]);
        await page.waitFor('the version', () => /v\d+\.\d+/.test((globalThis as InPage).document.querySelector('header .daemon')?.textContent ?? ''));
        await page.evaluate(() => ((globalThis as InPage).__before = true));
        await page.open(`${daemon.url}/#speak`);
        expect(await page.evaluate(() => (globalThis as InPage).__before ?? false)).toBe(false);
        await page.waitFor('the Speak view', () => (globalThis as InPage).document.querySelector('main h2')?.textContent === 'Speak');
        expect(await page.evaluate(() => !!(globalThis as InPage).document.querySelector('input[aria-label="API key"]'))).toBe(false);
      });

      it('lists the installed models in the Models view', async () => {
        await view('models', 'Models');
        const rows = await page.waitFor<string[][]>('the installed models', () => {
          const trs = [...(globalThis as InPage).document.querySelectorAll('table[aria-labelledby="models-installed"] tr[data-model]')];
          return trs.length === 3 && trs.map((tr: InPage) => [tr.dataset.model, tr.querySelector('td')?.textContent]);
        });
        expect(rows.sort()).toEqual([
          ['tiny', 'llm'],
          ['voice', 'tts'],
          ['yesno', 'asr'],
        ]);
        // The row says what the daemon says: not loaded in the first engine; loaded in the next, after the first one's chat.
        const ps = (await (await fetch(`${daemon.url}/murmur/v1/ps`, { headers: { Authorization: `Bearer ${KEY}` } })).json()) as { models: { name: string }[] };
        const loaded = ps.models.some((m) => m.name === 'tiny');
        expect(await page.evaluate(textOf, 'tr[data-model="tiny"] .models-state')).toMatch(loaded ? /^loaded .*unloads in/ : /^not loaded/);
      });

      it('streams a chat reply in from the daemon, with its stats', async () => {
        await view('chat', 'Chat');
        await page.waitFor('the tiny model in the picker', () => [...(globalThis as InPage).document.querySelectorAll('select[aria-label="Model"] option')].some((o: InPage) => o.value === 'tiny'));
        await page.evaluate(fill, 'select[aria-label="Model"]', 'tiny');
        await page.evaluate(() => ((globalThis as InPage).document.querySelector('details.chat-options').open = true));
        await page.evaluate(fill, '.chat-options .row label:nth-child(3) input', '16');
        expect(await page.evaluate(textOf, '.chat-options .row label:nth-child(3)')).toContain('Max tokens');
        await page.evaluate(fill, '.chat-composer textarea', 'Once upon a time');
        expect(await page.evaluate(click, 'Send')).toBe(true);
        const stats = await page.waitFor<string>(
          'the reply and its stats',
          () => {
            const text = (globalThis as InPage).document.querySelector('.chat-assistant .chat-stats')?.textContent ?? '';
            return /tokens\/s/.test(text) && text;
          },
          [],
          30_000,
        );
        expect(stats).toMatch(/16 tokens/);
        expect(stats).toMatch(/tokens\/s/);
        expect(await page.evaluate(textOf, '.chat-assistant .chat-md')).not.toBe('');
        expect(await page.evaluate(textOf, '.chat-user')).toBe('Once upon a time');
      });

      it("renders a streamed reply's Markdown as elements and HTML in it as text", async () => {
        await view('chat', 'Chat');
        // stories260K cannot be asked for Markdown: the reply's stream comes from a stand-in for fetch, in pieces, through the engine's own streams.
        await page.evaluate(() => {
          const g = globalThis as InPage;
          const real = (g.__realFetch = g.fetch);
          const markdown = 'Some **bold** and `<i>code</i>` text, then <b>not bold</b>.\n\n- one\n- two\n';
          const pieces: string[] = markdown.match(/[\s\S]{1,5}/g)!;
          const frames = [
            ...pieces.map((content: string) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
            { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
            { choices: [], usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: pieces.length + 3 } },
          ];
          g.fetch = (input: InPage, init: InPage) => {
            if (!String(input).endsWith('/v1/chat/completions')) return real(input, init);
            const encoder = new g.TextEncoder();
            const body = new g.ReadableStream({
              start(controller: InPage) {
                for (const f of frames) controller.enqueue(encoder.encode(`data: ${JSON.stringify(f)}\n\n`));
                controller.enqueue(encoder.encode('data: [DONE]\n\n'));
                controller.close();
              },
            });
            return Promise.resolve(new g.Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }));
          };
          return true;
        });
        await page.evaluate(click, 'New conversation');
        await page.evaluate(fill, '.chat-composer textarea', 'Show me Markdown');
        // Enter in the composer sends, as the placeholder says.
        await page.evaluate(() => {
          const g = globalThis as InPage;
          return g.document.querySelector('.chat-composer textarea').dispatchEvent(new g.KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
        });
        await page.waitFor('the Markdown reply', () => /tokens\/s/.test((globalThis as InPage).document.querySelector('.chat-assistant .chat-stats')?.textContent ?? ''));
        const md = await page.evaluate(() => {
          const el = (globalThis as InPage).document.querySelector('.chat-assistant .chat-md');
          return { text: el.textContent, strong: el.querySelector('strong')?.textContent, code: el.querySelector('code')?.textContent, items: el.querySelectorAll('li').length, html: el.querySelectorAll('b, i').length };
        });
        expect(md).toEqual({ text: expect.stringContaining('then <b>not bold</b>.'), strong: 'bold', code: '<i>code</i>', items: 2, html: 0 });
        await page.evaluate(() => ((globalThis as InPage).fetch = (globalThis as InPage).__realFetch) && true);
      });

      it("speaks: the stream comes in, then the file's <audio> element says the synthesis's duration (wav and mp3)", async () => {
        const expected = await apiSeconds();
        await view('speak', 'Speak');
        await page.waitFor('the voice model', () => (globalThis as InPage).document.querySelector('select[aria-label="Voice model"]')?.value === 'voice');
        await page.evaluate(fill, '.speak-text textarea', SENTENCE);
        // A WAV's duration is its sample count; mp3 pads with up to two frames of 1152 samples (22.05 kHz voice); the page rounds to 10 ms.
        for (const [format, slack] of [
          ['wav', 0.006],
          ['mp3', 0.11],
        ] as const) {
          await page.evaluate(fill, 'select[aria-label="Format"]', format);
          expect(await page.evaluate(click, 'Speak')).toBe(true);
          const link = await page.waitFor<string>(`the ${format} download`, (f: string) => (globalThis as InPage).document.querySelector(`.speak-result a[download="speech.${f}"]`)?.textContent, [format], 30_000);
          expect(link).toMatch(new RegExp(`^Download ${format} \\(\\d+\\.\\d kB\\)$`));
          expect(await page.evaluate(() => (globalThis as InPage).document.querySelector('.speak-result audio').src.slice(0, 5))).toBe('blob:');
          // The duration the page shows is the <audio> element's, once the engine has read it.
          const shown = await page.waitFor<string>(`the ${format} duration`, () => (globalThis as InPage).document.querySelector('.speak-result .muted')?.textContent);
          expect(Math.abs(Number(/^([\d.]+) s$/.exec(shown)?.[1]) - expected), `${format}: ${shown} in the page, ${expected} s from the API`).toBeLessThanOrEqual(slack);
        }
        // What streamed (pcm, for WebAudio) is the same audio, within the resampler's tail. Whether it is heard is not checked: with no sound
        // card here, neither engine's AudioContext leaves 'suspended' (resume() never settles), so nothing plays and no 'ended' comes.
        const streamed = Number(/^Streamed ([\d.]+) s of audio\.$/.exec(await page.evaluate(textOf, '[data-testid="speak-progress"]'))?.[1]);
        expect(Math.abs(streamed - expected)).toBeLessThan(0.03);
        expect(await page.evaluate(() => (globalThis as InPage).document.querySelectorAll('[role="alert"]').length)).toBe(0);
      });


      it('transcribes a WAV picked with the file input, with its timestamps', async () => {
        await view('transcribe', 'Transcribe');
        await page.waitFor('the yesno model', () => (globalThis as InPage).document.querySelector('select[aria-label="Model"]')?.value === 'yesno');
        await page.setFile('input[type="file"]', yesnoWav());
        await page.waitFor('the transcript', () => (globalThis as InPage).document.querySelector('[data-testid="transcribe-segments"]')?.textContent.includes('YNYYYNYN'), [], 30_000);
        await page.waitFor('the timestamps', () => /^0:00\.\d – 0:0\d\.\d$/.test((globalThis as InPage).document.querySelector('.transcribe-time')?.textContent ?? ''));
        expect(await page.evaluate(() => (globalThis as InPage).document.querySelectorAll('[role="alert"]').length)).toBe(0);
      });

      it('transcribes a WAV dropped on the view, its name shown as text', async () => {
        await page.open(`${daemon.url}/#transcribe`);
        await page.waitFor('the yesno model', () => (globalThis as InPage).document.querySelector('select[aria-label="Model"]')?.value === 'yesno');
        const bytes = [...readFileSync(yesnoWav())];
        await page.evaluate((data: number[]) => {
          const g = globalThis as InPage;
          const transfer = new g.DataTransfer();
          transfer.items.add(new g.File([new Uint8Array(data)], 'dropped <b>yes</b>.wav', { type: 'audio/wav' }));
          const zone = g.document.querySelector('[data-testid="transcribe-drop"]');
          for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new g.DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
          return true;
        }, bytes);
        await page.waitFor('the transcript', () => (globalThis as InPage).document.querySelector('[data-testid="transcribe-segments"]')?.textContent.includes('YNYYYNYN'), [], 30_000);
        expect(await page.evaluate(() => (globalThis as InPage).document.querySelector('.transcribe').textContent.includes('dropped <b>yes</b>.wav'))).toBe(true);
        expect(await page.evaluate(() => (globalThis as InPage).document.querySelectorAll('.transcribe b').length)).toBe(0);
      });


      it('Status shows the daemon, the loaded models and draws the tokens chart', async () => {
        await view('status', 'Status');
        await page.waitFor('the version', () => /^murmur v\d/.test((globalThis as InPage).document.querySelector('[data-fact="version"]')?.textContent ?? ''));
        expect(await page.evaluate(textOf, '[data-fact="address"]')).toBe(daemon.url);
        // The chat tests loaded tiny and generated tokens; two scrapes (a second after the first) draw a line.
        await page.waitFor('tiny among the loaded models', () => !!(globalThis as InPage).document.querySelector('table[aria-labelledby="status-loaded"] tr[data-model="tiny"]'));
        expect(Number(await page.evaluate(textOf, '[data-fact="tokens"]'))).toBeGreaterThanOrEqual(16);
        await page.waitFor('the tokens chart', () => !!(globalThis as InPage).document.querySelector('[data-chart="tokens"] polyline'));
      });
    });
  }
});
