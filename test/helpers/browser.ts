import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, LaunchOptions } from 'playwright-core';
import { unlessCi } from './ci.js';

/** Debian's chromium: Playwright's own browser download cannot work here (.ci/run installs the package). */
export const CHROMIUM = process.env.MURMUR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export const missingBrowser = (): string | undefined => unlessCi(existsSync(CHROMIUM) ? undefined : `no chromium at ${CHROMIUM} (apt-get install chromium)`);

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Launches headless chromium; `fakeMicrophone` feeds getUserMedia from a WAV
 * (Chromium's fake capture device), for the Talk and record tests.
 */
export const launchBrowser = async (options: { fakeMicrophone?: string } & Pick<LaunchOptions, 'args'> = {}): Promise<Browser> => {
  const { chromium } = await import('playwright-core');
  const args = [
    ...ARGS,
    ...(options.fakeMicrophone ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${options.fakeMicrophone}`] : []),
    ...(options.args ?? []),
  ];
  return chromium.launch({ executablePath: CHROMIUM, args });
};

/** A fresh browser context (its own localStorage) on `baseURL`, with microphone permission when asked. */
export const newContext = (browser: Browser, baseURL: string, options: { microphone?: boolean; colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> =>
  browser.newContext({
    baseURL,
    ...(options.microphone ? { permissions: ['microphone'] } : {}),
    ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}),
    ...(options.viewport ? { viewport: options.viewport } : {}),
  });
