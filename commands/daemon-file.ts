import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * MURMUR_HOME/serve.json: where the `murmur serve` of this home listens, so
 * that `status`, `ps`, `stop`, `chat`… find a daemon started on another port
 * (`serve --port 0`) without MURMUR_HOST. Written (atomically) once the
 * daemon listens, removed when it exits; a file whose process is gone, or
 * whose URL does not answer as that process, is ignored.
 */
export interface DaemonFile {
  readonly url: string;
  readonly pid: number;
  readonly started_at: string;
}

export const DAEMON_FILE = 'serve.json';

export const daemonFilePath = (home: string): string => join(home, DAEMON_FILE);

/** The URL a client on this machine reaches a daemon at: a wildcard bind (0.0.0.0, ::) is reached on loopback. */
export const reachableUrl = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0') parsed.hostname = '127.0.0.1';
  else if (parsed.hostname === '[::]') parsed.hostname = '[::1]';
  return parsed.toString().replace(/\/+$/, '');
};

/** Writes the file for this process (through a temporary file and a rename, so a reader never sees half of it). */
export const writeDaemonFile = (home: string, url: string, startedAt: Date): DaemonFile => {
  const entry: DaemonFile = { url: reachableUrl(url), pid: process.pid, started_at: startedAt.toISOString() };
  const file = daemonFilePath(home);
  const temporary = `${file}.${process.pid}.tmp`;
  mkdirSync(home, { recursive: true });
  writeFileSync(temporary, `${JSON.stringify(entry)}\n`, { mode: 0o644 });
  renameSync(temporary, file);
  return entry;
};

/** The file as written, or undefined when there is none or it does not read as one. */
export const readDaemonFile = (home: string): DaemonFile | undefined => {
  try {
    const body = JSON.parse(readFileSync(daemonFilePath(home), 'utf8')) as Partial<DaemonFile>;
    if (typeof body.url !== 'string' || !Number.isInteger(body.pid) || !/^https?:\/\//.test(body.url)) return undefined;
    return { url: body.url.replace(/\/+$/, ''), pid: body.pid!, started_at: String(body.started_at ?? '') };
  } catch {
    return undefined;
  }
};

/** Removes the file if it is still this process's (another daemon of the same home may have written its own since). */
export const removeDaemonFile = (home: string, pid = process.pid): void => {
  if (readDaemonFile(home)?.pid !== pid) return;
  try {
    unlinkSync(daemonFilePath(home));
  } catch {
    // Gone already.
  }
};

/** Whether a process with this id runs here (one of another user's counts: EPERM). */
export const processRuns = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The daemon serve.json names, when its process runs and its /health answers
 * as that process; else undefined.
 */
export const discoverDaemon = async (home: string, timeoutMs = 500): Promise<DaemonFile | undefined> => {
  const entry = readDaemonFile(home);
  if (!entry || !processRuns(entry.pid)) return undefined;
  try {
    const res = await fetch(`${entry.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => undefined)) as { status?: unknown; pid?: unknown } | undefined;
    // A stopping daemon answers 503 {status:'stopping'}: still the one (`murmur stop` waits for it).
    if (typeof body?.status !== 'string') return undefined;
    if (body.pid !== undefined && body.pid !== entry.pid) return undefined;
    return entry;
  } catch {
    return undefined;
  }
};
