/**
 * Plays s16le mono PCM from stdin through `speaker`, in its own process.
 * Run as `node playback-child.js <sampleRate>` by playback.ts: if the
 * native binding aborts (ALSA's assertion with no usable device), only this
 * child dies and the parent reports it as a clear error.
 *
 * Protocol: prints `ready` on stdout once speaker has loaded; exits 0 when
 * everything written has been played, 3 when speaker is not installed, 4 on
 * a playback error (message on stderr).
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';

type SpeakerClass = new (options: { channels: number; bitDepth: number; sampleRate: number; signed?: boolean }) => Writable;

const sampleRate = Number(process.argv[2]);
if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
  process.stderr.write(`playback-child: invalid sample rate '${process.argv[2]}'\n`);
  process.exit(2);
}

let Speaker: SpeakerClass;
try {
  Speaker = createRequire(import.meta.url)('speaker') as SpeakerClass;
} catch (error) {
  process.stderr.write(`speaker unavailable: ${(error as Error).message}\n`);
  process.exit(3);
}

const speaker = new Speaker({ channels: 1, bitDepth: 16, sampleRate, signed: true });
speaker.on('error', (error: Error) => {
  process.stderr.write(`playback failed: ${error.message}\n`);
  process.exit(4);
});
// 'close' comes after the device has drained what was written.
speaker.on('close', () => process.exit(0));
process.stdout.write('ready\n');
process.stdin.pipe(speaker);
