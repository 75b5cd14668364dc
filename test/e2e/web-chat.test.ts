import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The page's Chat view on a real `murmur serve` with stories260K installed
 * as 'tiny', in Debian's chromium: a streamed reply, Stop, HTML in a
 * message shown as text (no script runs), Markdown from a reply rendered
 * as elements (links only to http(s)), conversations kept over a reload,
 * and a model that is gone said in the page. stories260K never stops by
 * itself, so every request sets max_tokens.
 */

const GGUF = 'stories260K/stories260K.gguf';
const CHARS = 'tts-synthetic/characters-style/model.onnx';
const skip = missingBrowser() ?? missingModels(GGUF, CHARS);

describe.skipIf(skip)(`the browser page's Chat view${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let browser: Browser;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_HOST: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-chat-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    // A second copy under its own name, to be removed while the page has it picked.
    mkdirSync(join(home, 'imports'));
    copyFileSync(testModel(GGUF)!, join(home, 'imports', 'doomed.gguf'));
    await runCli(env(), 'pull', join(home, 'imports', 'doomed.gguf'), '--name', 'doomed');
    await runCli(env(), 'pull', join(testModel(CHARS)!, '..'), '--name', 'chars');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** A fresh page on the Chat view with `model` picked and max tokens set. */
  const open = async (maxTokens = '24', model = 'tiny'): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newContext(browser, daemon.url);
    const page = await context.newPage();
    await page.goto('/#chat');
    await page.getByRole('heading', { name: 'Chat' }).waitFor();
    await expect.poll(() => page.locator('.chat-head select option', { hasText: model }).count()).toBeGreaterThan(0);
    await page.getByLabel('Model', { exact: true }).selectOption(model);
    await page.getByText('System prompt and sampling').click();
    await page.getByLabel('Max tokens').fill(maxTokens);
    await page.getByLabel('Temperature').fill('0');
    return { context, page };
  };
  const ask = async (page: Page, text: string) => {
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
  };

  it('streams a reply in, renders it, and says its time to first token and tokens/s', async () => {
    const { context, page } = await open('40');
    await ask(page, 'Once upon a time');
    const reply = page.locator('.chat-assistant').last();
    await expect.poll(() => reply.locator('.chat-md').innerText(), { timeout: 30_000 }).not.toBe('');
    await expect.poll(() => reply.locator('.chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens\/s/);
    expect(await reply.locator('.chat-stats').innerText()).toMatch(/time to first token/);
    expect(await reply.locator('.chat-stats').innerText()).toMatch(/40 tokens/);
    expect(await page.locator('.chat-user').innerText()).toBe('Once upon a time');
    // Regenerate writes the last reply again, in the same place.
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('.chat-assistant').count()).toBe(1);
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText()).toMatch(/tokens\/s/);
    await context.close();
  });

  it('Stop ends a reply mid-stream and marks it stopped', async () => {
    const { context, page } = await open('100000');
    await ask(page, 'Once upon a time');
    const reply = page.locator('.chat-assistant').last();
    await expect.poll(() => reply.locator('.chat-md').innerText(), { timeout: 30_000 }).not.toBe('');
    await page.getByRole('button', { name: 'Stop' }).click();
    await reply.locator('.chat-stopped').waitFor();
    expect(await page.getByRole('button', { name: 'Send' }).count()).toBe(1);
    // Nothing more arrives once it stopped.
    const text = await reply.locator('.chat-md').innerText();
    await page.waitForTimeout(300);
    expect(await reply.locator('.chat-md').innerText()).toBe(text);
    await context.close();
  });

  it('shows HTML in a message as text: no script from it runs', async () => {
    const { context, page } = await open('8');
    const html = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    await ask(page, html);
    await expect.poll(() => page.locator('.chat-user').innerText()).toBe(html);
    expect(await page.locator('.chat-user img').count()).toBe(0);
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens/);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    await context.close();
  });

  it("renders a reply's Markdown as elements: code highlighted, http(s) links only, HTML as text", async () => {
    const { context, page } = await open('8');
    const markdown = [
      '## Title',
      '',
      'Some **bold** and *em* text with `inline <b>code</b>`, a [web link](https://example.com/) and a [bad one](javascript:window.__pwned=3).',
      '',
      '- one',
      '- two <img src=x onerror="window.__pwned=4">',
      '',
      '```js',
      'const answer = 42; // "<script>"',
      '```',
      '',
      '<script>window.__pwned=5</script>',
    ].join('\n');
    // The reply comes from a stand-in for the daemon's stream, so its text is known.
    const pieces = markdown.match(/[\s\S]{1,7}/g)!;
    const frames = [
      ...pieces.map((content) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: pieces.length + 3 } },
    ];
    await page.route('**/v1/chat/completions', (route) =>
      route.fulfill({ status: 200, contentType: 'text/event-stream', body: `${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join('')}data: [DONE]\n\n` }),
    );
    await ask(page, 'Show me Markdown');
    const md = page.locator('.chat-assistant .chat-md');
    await md.locator('h4', { hasText: 'Title' }).waitFor();
    expect(await md.locator('strong').innerText()).toBe('bold');
    expect(await md.locator('em').innerText()).toBe('em');
    expect(await md.locator('p code').innerText()).toBe('inline <b>code</b>');
    const link = md.getByRole('link', { name: 'web link' });
    expect(await link.getAttribute('href')).toBe('https://example.com/');
    expect(await link.getAttribute('rel')).toMatch(/noopener/);
    expect(await md.getByRole('link', { name: 'bad one' }).count()).toBe(0);
    expect(await md.getByText('bad one').count()).toBe(1);
    expect(await md.locator('li').count()).toBe(2);
    expect(await md.locator('li').nth(1).innerText()).toContain('<img src=x onerror="window.__pwned=4">');
    expect(await md.locator('pre code.hljs .hljs-keyword').first().innerText()).toBe('const');
    expect(await md.locator('pre code').innerText()).toContain('"<script>"');
    expect(await md.innerText()).toContain('<script>window.__pwned=5</script>');
    expect(await md.locator('img, script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    await context.close();
  });

  it('keeps conversations over a reload, and switches and deletes them', async () => {
    const { context, page } = await open('8');
    await ask(page, 'First question');
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens/);
    await page.getByRole('button', { name: 'New conversation' }).click();
    expect(await page.locator('.chat-user').count()).toBe(0);
    await ask(page, 'Second question');
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens/);

    await page.reload();
    await page.getByRole('heading', { name: 'Chat' }).waitFor();
    const history = page.getByRole('navigation', { name: 'Conversations' });
    await expect.poll(() => history.locator('.chat-open').allInnerTexts()).toEqual(['Second question', 'First question']);
    expect(await page.locator('.chat-user').innerText()).toBe('Second question');
    expect(await page.locator('.chat-assistant .chat-md').innerText()).not.toBe('');
    await history.getByRole('button', { name: 'First question', exact: true }).click();
    expect(await page.locator('.chat-user').innerText()).toBe('First question');
    await history.getByRole('button', { name: 'Delete “First question”' }).click();
    await expect.poll(() => history.locator('.chat-open').allInnerTexts()).toEqual(['Second question']);
    await page.reload();
    await expect.poll(() => page.getByRole('navigation', { name: 'Conversations' }).locator('.chat-open').allInnerTexts()).toEqual(['Second question']);
    await context.close();
  });

  it('keeps the system prompt and sampling with each conversation; a new one starts from the last used', async () => {
    const { context, page } = await open('8');
    const sent: { messages: { role: string; content: string }[]; max_tokens?: number }[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) sent.push(r.postDataJSON() as (typeof sent)[number]);
    });
    const system = page.getByLabel('System prompt', { exact: true });
    const maxTokens = page.getByLabel('Max tokens');
    const done = () => expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 30_000 }).toBe(1);
    await system.fill('Be brief.');
    await ask(page, 'First question');
    await done();
    await page.getByRole('button', { name: 'New conversation' }).click();
    expect(await system.inputValue()).toBe('Be brief.');
    expect(await maxTokens.inputValue()).toBe('8');
    await system.fill('Talk like a pirate.');
    await maxTokens.fill('6');
    await ask(page, 'Second question');
    await done();

    // Back in the first conversation: its own options, and Regenerate sends them.
    const history = page.getByRole('navigation', { name: 'Conversations' });
    await history.getByRole('button', { name: 'First question', exact: true }).click();
    expect(await system.inputValue()).toBe('Be brief.');
    expect(await maxTokens.inputValue()).toBe('8');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await done();
    expect(sent.map((b) => [b.messages[0]!.role, b.messages[0]!.content, b.max_tokens])).toEqual([
      ['system', 'Be brief.', 8],
      ['system', 'Talk like a pirate.', 6],
      ['system', 'Be brief.', 8],
    ]);

    // Kept with each conversation over a reload.
    await page.reload();
    await expect.poll(() => page.locator('.chat-user').innerText()).toBe('First question');
    expect(await system.inputValue()).toBe('Be brief.');
    await history.getByRole('button', { name: 'Second question', exact: true }).click();
    expect(await system.inputValue()).toBe('Talk like a pirate.');
    expect(await maxTokens.inputValue()).toBe('6');
    await context.close();
  });

  it('keeps conversations stored before they had their own settings, giving them the stored ones', async () => {
    const context = await newContext(browser, daemon.url);
    const page = await context.newPage();
    await page.goto('/#chat');
    await page.getByRole('heading', { name: 'Chat' }).waitFor();
    const old = {
      conversations: [
        { id: 'old2', title: 'A newer question', messages: [{ role: 'user', content: 'A newer question' }, { role: 'assistant', content: 'A newer answer', model: 'tiny' }], updatedAt: 2 },
        { id: 'old1', title: 'An old question', messages: [{ role: 'user', content: 'An old question' }, { role: 'assistant', content: 'An old answer', model: 'tiny' }], updatedAt: 1 },
      ],
      settings: { model: 'tiny', system: 'Old prompt', temperature: '0', topP: '', maxTokens: '7', speak: false, voiceModel: '' },
    };
    await page.evaluate((stored) => {
      const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage;
      storage.setItem('murmur.chat.conversations', JSON.stringify(stored.conversations));
      storage.setItem('murmur.chat.settings', JSON.stringify(stored.settings));
      storage.setItem('murmur.chat.current', 'old1');
    }, old);
    await page.reload();
    const history = page.getByRole('navigation', { name: 'Conversations' });
    await expect.poll(() => history.locator('.chat-open').allInnerTexts()).toEqual(['A newer question', 'An old question']);
    expect(await page.locator('.chat-assistant .chat-md').innerText()).toBe('An old answer');
    expect(await page.getByLabel('System prompt', { exact: true }).inputValue()).toBe('Old prompt');
    expect(await page.getByLabel('Max tokens').inputValue()).toBe('7');
    // A change now is this conversation's only.
    await page.getByText('System prompt and sampling').click();
    await page.getByLabel('System prompt', { exact: true }).fill('New prompt');
    await history.getByRole('button', { name: 'A newer question', exact: true }).click();
    expect(await page.getByLabel('System prompt', { exact: true }).inputValue()).toBe('Old prompt');
    await page.reload();
    await history.getByRole('button', { name: 'An old question', exact: true }).click();
    expect(await page.getByLabel('System prompt', { exact: true }).inputValue()).toBe('New prompt');
    expect(await page.locator('.chat-assistant .chat-md').innerText()).toBe('An old answer');
    await context.close();
  });

  it('marks a reply cut by a page reload as interrupted, keeps what came, and Regenerate writes it again', async () => {
    const { context, page } = await open('100000');
    await ask(page, 'Once upon a time');
    await expect.poll(() => page.locator('.chat-assistant .chat-md').innerText(), { timeout: 30_000 }).not.toBe('');
    await page.reload();
    const reply = page.locator('.chat-assistant');
    await reply.locator('.chat-interrupted').waitFor();
    expect(await reply.count()).toBe(1);
    expect(await reply.locator('.chat-md').innerText()).not.toBe('');
    expect(await reply.getAttribute('aria-busy')).toBe('false');
    expect(await page.getByRole('button', { name: 'Send' }).count()).toBe(1);
    await page.getByText('System prompt and sampling').click();
    await page.getByLabel('Max tokens').fill('8');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => reply.locator('.chat-stats').innerText(), { timeout: 30_000 }).toMatch(/8 tokens/);
    expect(await page.locator('.chat-interrupted').count()).toBe(0);
    // Ended whole: a reload does not call it interrupted.
    await page.reload();
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText()).toMatch(/8 tokens/);
    expect(await page.locator('.chat-interrupted').count()).toBe(0);
    await context.close();
  });

  it('says in the page when the picked model is gone, and keeps working with another', async () => {
    const { context, page } = await open('8', 'doomed');
    const removed = await fetch(`${daemon.url}/murmur/v1/models/doomed`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    await ask(page, 'Hello?');
    const error = page.locator('.chat-assistant .chat-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.innerText()).toMatch(/doomed/);
    expect(await page.getByRole('heading', { name: 'Chat' }).count()).toBe(1);
    // The rest keeps working: another model answers.
    await page.getByLabel('Model', { exact: true }).selectOption('tiny');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens\/s/);
    expect(await page.locator('.chat-assistant .chat-error').count()).toBe(0);
    await context.close();
  });

  it('speaks replies: the text goes to the speech stream as it arrives and audio comes back', async () => {
    const { context, page } = await open('40');
    const sent: string[] = [];
    const received: string[] = [];
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/v1/audio/speech/stream')) return;
      ws.on('framesent', (frame) => typeof frame.payload === 'string' && sent.push(frame.payload));
      ws.on('framereceived', (frame) => typeof frame.payload === 'string' && received.push(frame.payload));
    });
    await page.getByLabel('Speak replies').check();
    await expect.poll(() => page.getByLabel('Voice model', { exact: true }).inputValue()).toBe('chars');
    await ask(page, 'Once upon a time');
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/tokens\/s/);
    const types = (list: string[]) => list.map((m) => (JSON.parse(m) as { type: string }).type);
    await expect.poll(() => types(received), { timeout: 30_000 }).toContain('context.done');
    expect(types(received)).toContain('session.created');
    expect(types(received)).toContain('audio.delta');
    expect(types(received)).not.toContain('error');
    // What was sent to be spoken is the reply's text.
    const appended = sent.map((m) => JSON.parse(m) as { type: string; text?: string }).filter((m) => m.type === 'input_text.append').map((m) => m.text).join('');
    const reply = await page.evaluate<string>("JSON.parse(localStorage.getItem('murmur.chat.conversations'))[0].messages[1].content");
    expect(reply).not.toBe('');
    expect(appended).toBe(reply);
    expect(types(sent)).toContain('session.close');
    expect(await page.locator('.chat .chat-error').count()).toBe(0);
    await context.close();
  });

  it('stays responsive through a very long reply and draws all of it', async () => {
    const { context, page } = await open('8');
    const paragraph = 'A long reply goes on and on, with **bold** words and `code` in it. ';
    const pieces = Array.from({ length: 6000 }, (_, i) => (i % 20 === 19 ? `${paragraph}\n\n` : paragraph));
    const frames = pieces.map((content) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`);
    await page.route('**/v1/chat/completions', (route) =>
      route.fulfill({ status: 200, contentType: 'text/event-stream', body: `${frames.join('')}data: ${JSON.stringify({ choices: [], usage: { completion_tokens: pieces.length } })}\n\ndata: [DONE]\n\n` }),
    );
    await ask(page, 'Talk for a long time');
    await expect.poll(() => page.locator('.chat-assistant .chat-stats').innerText(), { timeout: 30_000 }).toMatch(/6000 tokens/);
    expect(await page.locator('.chat-assistant .chat-md > p').count()).toBe(300);
    // The page still answers: the options open and the composer takes text.
    await page.getByLabel('Message', { exact: true }).fill('still here');
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('still here');
    await context.close();
  });

  it('says in the page when the daemon cannot be reached', async () => {
    const { context, page } = await open('8');
    await page.route('**/v1/chat/completions', (route) => route.abort('connectionrefused'));
    await ask(page, 'Anyone there?');
    const error = page.locator('.chat-assistant .chat-error');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/does not answer/);
    await context.close();
  });
});
