import { spawn } from 'node:child_process';

/**
 * Opens `url` in the default browser: xdg-open on Linux (and the other
 * Unixes), open on macOS, `start` on Windows. Resolves with undefined once
 * the opener has exited 0, or with one line saying why it could not open
 * (no opener on PATH, a non-zero exit, no answer within `timeoutMs`); it
 * never throws: `serve --open` warns and serves on, `murmur open` reports.
 * PATH comes from `env` (the CLI's environment).
 */
export const openInBrowser = (url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, timeoutMs = 10_000): Promise<string | undefined> => {
  // `start` is cmd's own; its first quoted argument is a window title, hence the empty one.
  const [file, args] = platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['cmd', ['/d', '/s', '/c', 'start', '""', url]] : ['xdg-open', [url]];
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { env, stdio: 'ignore', detached: platform !== 'win32', windowsHide: true, windowsVerbatimArguments: platform === 'win32' });
    } catch (error) {
      resolve(`cannot run ${file}: ${(error as Error).message}`);
      return;
    }
    const timer = setTimeout(() => {
      // Some openers wait for the browser; it has been handed the URL by now, so leave it running.
      child.unref();
      resolve(undefined);
    }, timeoutMs);
    timer.unref();
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ENOENT' ? `no ${file} on PATH` : `cannot run ${file}: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `${file} ${signal ? `was killed (${signal})` : `exited ${code}`}`);
    });
  });
};

/** The address a browser on this machine reaches a daemon bound to `url` at: a wildcard bind (0.0.0.0, ::) becomes loopback. */
export const pageUrl = (url: string): string => {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return `${u.origin}/`;
};
