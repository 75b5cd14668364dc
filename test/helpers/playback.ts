import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasOutputDevice } from '../../src/audio/playback.js';
import { unlessCi } from './ci.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Why playback cannot be tested here, or undefined when it can: `speaker` is
 * an optional dependency (built only where ALSA headers exist), and ALSA
 * file devices are Linux only. CI installs libasound2-dev, so it plays (and fails there if it cannot).
 */
export const cannotPlay = (): string | undefined => {
  if (process.platform !== 'linux') return unlessCi('ALSA file devices are Linux only');
  if (!existsSync(join(root, 'node_modules', 'speaker', 'build', 'Release', 'binding.node'))) {
    return unlessCi('the optional speaker addon is not built (install libasound2-dev, then npm rebuild speaker)');
  }
  return undefined;
};

/**
 * Why "no output device" cannot be tested here, or undefined when it can:
 * a sound card or a machine-wide ALSA config gives every HOME a device.
 */
export const deviceEverywhere = (): string | undefined =>
  hasOutputDevice({ HOME: join(tmpdir(), 'murmur-no-such-home'), PATH: process.env.PATH })
    ? 'this machine has an output device for every user (a sound card or /etc/asound.conf)'
    : undefined;

/** A new temporary HOME whose ~/.asoundrc sends the default ALSA device to `out`, a raw s16le file. */
export const fileDeviceHome = (prefix = 'murmur-playback-'): { home: string; out: string } => {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const out = join(home, 'OUT.raw');
  writeFileSync(join(home, '.asoundrc'), `pcm.!default { type file slave.pcm "null" file "${out}" format "raw" }\n`);
  return { home, out };
};
