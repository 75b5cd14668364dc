import cliProgress from 'cli-progress';
import type { PullEvent } from '../../src/store/types.js';
import type { CommandContext } from '../context.js';
import { formatBytes, formatDuration, formatSpeed } from './format.js';

/** Turns pull events into terminal output; `stop()` before printing anything else. */
export interface PullRenderer {
  readonly onProgress: (event: PullEvent) => void;
  stop(): void;
}

interface FileBar {
  readonly bar: cliProgress.SingleBar;
  readonly started: number;
  readonly startBytes: number;
}

/** One JSON line per event on `stream` (stderr: stdout carries only the result), like ollama's `{"status":"downloading",…}`. */
export const createJsonRenderer = (stream: NodeJS.WritableStream): PullRenderer => ({
  onProgress: (event) => {
    stream.write(`${JSON.stringify(event)}\n`);
  },
  stop: () => undefined,
});

const label = (name: string, width = 28) => (name.length > width ? `…${name.slice(-(width - 1))}` : name.padEnd(width));

/** cli-progress bars on stderr, one per file: size, speed and ETA; status lines above them. */
export const createBarRenderer = (stream: NodeJS.WritableStream): PullRenderer => {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: ' {file} |{bar}| {percentage}% | {done}/{size} | {speed} | ETA {left}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: false,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, FileBar>();
  let stopped = false;
  // Status lines go above the bars: through the bars' log (flushed by a redraw) once bars exist, straight out before.
  const log = (text: string) => {
    if (stopped) return;
    if (!bars.size) {
      stream.write(`${text}\n`);
      return;
    }
    multibar.log(`${text}\n`);
    multibar.update();
  };

  const update = (event: Extract<PullEvent, { status: 'downloading' }>) => {
    const key = `${event.model}/${event.file}`;
    let entry = bars.get(key);
    if (!entry) {
      entry = { bar: multibar.create(event.total ?? 0, 0, {}), started: Date.now(), startBytes: event.completed };
      bars.set(key, entry);
    }
    const seconds = (Date.now() - entry.started) / 1000;
    const speed = seconds > 0.2 ? (event.completed - entry.startBytes) / seconds : 0;
    const remaining = event.total === undefined ? undefined : event.total - event.completed;
    if (event.total !== undefined) entry.bar.setTotal(event.total);
    entry.bar.update(event.completed, {
      file: label(event.file),
      done: formatBytes(event.completed),
      size: event.total === undefined ? '?' : formatBytes(event.total),
      speed: speed > 0 ? formatSpeed(speed) : '-',
      left: remaining !== undefined && speed > 0 ? formatDuration(remaining / speed) : '-',
    });
  };

  return {
    onProgress: (event) => {
      switch (event.status) {
        case 'downloading':
          update(event);
          break;
        case 'waiting':
          log(`${event.model}: waiting (${event.reason})`);
          break;
        case 'extracting':
          log(`${event.model}: extracting ${event.file}`);
          break;
        case 'success':
          log(event.reused ? `${event.model} is already installed` : `${event.model} installed`);
          break;
        default:
          break;
      }
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (bars.size) multibar.stop();
    },
  };
};

/**
 * Progress of `murmur pull`, always on stderr: JSON lines with --json, bars
 * when stderr is a terminal, plain lines otherwise. stdout is left to the
 * result, so `murmur pull x > out` and `| head` get only that.
 */
export const createPullRenderer = (ctx: CommandContext, json: boolean): PullRenderer =>
  json ? createJsonRenderer(ctx.stderr) : createDownloadBars(ctx.stderr);

/** Plain status lines (no bars) for a stream that is not a terminal: each file at start, every 25% and at the end. */
export const createLineRenderer = (stream: NodeJS.WritableStream): PullRenderer => {
  const shown = new Map<string, number>();
  return {
    onProgress: (event) => {
      if (event.status !== 'downloading') {
        if (event.status === 'success') stream.write(event.reused ? `${event.model} is already installed\n` : `${event.model} installed\n`);
        else if (event.status === 'waiting') stream.write(`${event.model}: waiting (${event.reason})\n`);
        else if (event.status !== 'resolving') stream.write(`${event.model}: ${event.status}${'file' in event ? ` ${event.file}` : ''}\n`);
        return;
      }
      const key = `${event.model}/${event.file}`;
      const step = event.total ? Math.floor((event.completed / event.total) * 4) : 0;
      if (shown.get(key) === step) return;
      shown.set(key, step);
      stream.write(`${event.model}: ${event.file} ${formatBytes(event.completed)}${event.total ? ` of ${formatBytes(event.total)}` : ''}\n`);
    },
    stop: () => undefined,
  };
};

/**
 * Progress for commands whose stdout carries something else (chat's
 * auto-pull): bars on `stream` when it is a terminal, plain lines otherwise.
 */
export const createDownloadBars = (stream: NodeJS.WritableStream & { isTTY?: boolean }): PullRenderer =>
  stream.isTTY ? createBarRenderer(stream) : createLineRenderer(stream);
