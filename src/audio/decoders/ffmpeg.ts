import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../errors.js';
import { findOnPath } from '../../executables.js';
import { ByteReader } from './byte-reader.js';
import type { AudioStream } from './types.js';
import { openWavStream } from './wav-stream.js';

/** The ffmpeg executable on the PATH, or undefined when there is none. */
export const findFfmpeg = (path = process.env.PATH ?? ''): string | undefined =>
  findOnPath(process.platform === 'win32' ? ['ffmpeg.exe', 'ffmpeg'] : ['ffmpeg'], path);

/** ffmpeg refused the input; `detail` is what it said (its last lines, with the input named as the caller's label, never a temporary path). */
export class FfmpegFailedError extends AppError {
  readonly detail: string;
  /** True when ffmpeg could not read the input at all (no audio came out), false when it failed part way. */
  readonly atOpen: boolean;

  constructor(label: string, code: number | null, detail: string, atOpen: boolean) {
    super('invalid_request', `ffmpeg could not decode ${label} (exit code ${code}): ${detail}.`, {
      hint: 'Check that the file is audio and plays; ffmpeg names the problem above.',
      param: 'file',
    });
    this.name = 'FfmpegFailedError';
    this.detail = detail;
    this.atOpen = atOpen;
  }
}

/** Where ffmpeg reads from: a file it can seek (m4a keeps its index at the end), or bytes piped in. */
export type FfmpegSource = { path: string } | { bytes: Uint8Array } | { reader: ByteReader };

/**
 * Decodes anything ffmpeg knows by streaming its output: ffmpeg writes a
 * float32 WAV (all channels, the source's rate) to its stdout and murmur
 * reads that as a stream, mixing down to mono itself. Memory stays bounded.
 * @param ffmpeg path of the ffmpeg executable
 */
export const openFfmpegStream = async (ffmpeg: string, source: FfmpegSource, chunkSeconds: number, label: string): Promise<AudioStream> => {
  let tempDir: string | undefined;
  let input = 'pipe:0';
  if ('path' in source) input = source.path;
  if ('bytes' in source) {
    tempDir = await mkdtemp(join(tmpdir(), 'murmur-audio-'));
    input = join(tempDir, 'input');
    await writeFile(input, source.bytes);
  }
  const args = ['-hide_banner', '-loglevel', 'error', '-i', input, '-vn', '-map', '0:a:0', '-f', 'wav', '-c:a', 'pcm_f32le', 'pipe:1'];
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      stderr += error.message;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {}); // EPIPE when ffmpeg exits early; its exit code tells the story
  if ('reader' in source) void pump(source.reader, child.stdin);
  else child.stdin.end();

  let outputEnded = false;
  child.stdout.once('end', () => {
    outputEnded = true;
  });
  const cleanup = async () => {
    // Stopped before ffmpeg finished (the caller closed early): end it.
    if (!outputEnded && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if ('reader' in source) await source.reader.close();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
  // ffmpeg names its input (`/tmp/murmur-audio-…/input: Invalid data…`): said as the label, a temporary path means nothing to the user.
  const failure = (code: number | null, atOpen: boolean) =>
    new FfmpegFailedError(label, code, stderr.trim().split('\n').slice(-3).join(' ').replaceAll(`${input}: `, '').replaceAll(input, label) || 'no details', atOpen);

  const reader = new ByteReader(child.stdout, cleanup);
  let stream: AudioStream;
  try {
    stream = await openWavStream(reader, { chunkSeconds, decoder: 'ffmpeg' });
  } catch (error) {
    await reader.close();
    const code = await exited;
    throw code === 0 ? error : failure(code, true);
  }
  const inner = stream.chunks;
  return {
    ...stream,
    async *chunks() {
      try {
        yield* inner();
      } catch (error) {
        const code = await exited;
        throw code === 0 ? error : failure(code, false);
      }
      const code = await exited;
      if (code !== 0) throw failure(code, false);
    },
  };
};

/** Copies the source's bytes into ffmpeg's stdin, stopping quietly if ffmpeg stops reading. */
const pump = async (reader: ByteReader, stdin: NodeJS.WritableStream): Promise<void> => {
  try {
    for (let piece = await reader.next(); piece; piece = await reader.next()) {
      if (!stdin.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stdin.off('drain', done);
            stdin.off('close', done);
            resolve();
          };
          stdin.on('drain', done);
          stdin.on('close', done);
        });
      }
    }
  } catch {
    // the source failed; ffmpeg sees a short input and reports it
  } finally {
    stdin.end();
  }
};
