import cliProgress from 'cli-progress';
import type { CommandContext } from '../context.js';

export interface TranscribeProgress {
  /** Starts the bar of input `index` (from 0); with `duration` (seconds) it shows percent and ETA, without it the seconds decoded. */
  begin(index: number, label: string, duration: number | undefined): void;
  /** Audio decoded so far in the current input, in seconds. */
  advance(seconds: number): void;
  /** A stream for the transcript that clears the bar's line before each write when both share a terminal. */
  above(stream: CommandContext['stdout']): { write(text: string): unknown };
  stop(): void;
}

/**
 * The progress bar of `transcribe`, on stderr and only on a terminal
 * (undefined otherwise: nothing is drawn on a pipe). One bar per input,
 * restarted so each ETA is its own.
 */
export const createTranscribeProgress = (ctx: CommandContext, files: number): TranscribeProgress | undefined => {
  if (!ctx.stderr.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  let known = false;
  const options = { stream: ctx.stderr, hideCursor: true, clearOnComplete: true, noTTYOutput: false, etaBuffer: 20 };
  const end = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    begin: (index, label, duration) => {
      end();
      known = duration !== undefined && duration > 0;
      const where = files > 1 ? ` | file ${index + 1}/${files}` : '';
      bar = known
        ? new cliProgress.SingleBar({ ...options, format: ` {file} |{bar}| {percentage}% | {value}/{total} s | ETA {eta_formatted}${where}` }, cliProgress.Presets.shades_classic)
        : new cliProgress.SingleBar({ ...options, format: ` {file} | {value} s decoded${where}` }, cliProgress.Presets.shades_classic);
      bar.start(known ? Math.round(duration! * 10) / 10 : 0, 0, { file: label });
    },
    advance: (seconds) => {
      if (!bar) return;
      bar.update(Math.round(seconds * 10) / 10);
    },
    above: (stream) => ({
      write: (text: string) => {
        if (stream.isTTY && bar) ctx.stderr.write('\r\x1b[2K');
        return stream.write(text);
      },
    }),
    stop: end,
  };
};
