import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAudioStream } from '../../src/audio/decode.js';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/types.js';
import { createApp } from '../../src/server/app.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import { wavHeader16 } from '../helpers/asr.js';
import { MEMORY_UPLOAD_BYTES, sweepStaleUploads, UPLOAD_PREFIX, uploadDirectory } from '../../src/server/upload-form.js';
import { storePaths } from '../../src/store/paths.js';
import type { TranscribeRequest, TranscribeResult } from '../../src/types/transcript.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

/*
 * Uploads to /v1/audio/transcriptions stream to a temporary file under the
 * store's tmp/ and reach the runtime as a path; the file is gone when the
 * request ends, however it ends. Run on a real listener, with a runtime
 * that decodes the stored file for real (src/audio/decode.ts) and counts
 * its samples. The bodies come from generators, so the test never holds an
 * upload either; the memory check is a bound, not a timing.
 */

const RATE = 16_000;
const LIMIT = 4 * 1024 * 1024;
const PIECE = 64 * 1024;

/** A 16-bit mono WAV header for `dataBytes` of samples. */
const wavHeader = (dataBytes: number): Buffer => wavHeader16(dataBytes, RATE);

/** One piece of sine, reused for every piece of every body (nothing here grows with the upload). */
const sine = Buffer.alloc(PIECE);
for (let i = 0; i < PIECE / 2; i++) sine.writeInt16LE(Math.round(Math.sin(i / 5) * 8000), i * 2);

/** A WAV of `dataBytes` sample bytes, as pieces. */
function* wav(dataBytes: number): Generator<Buffer> {
  yield wavHeader(dataBytes);
  for (let left = dataBytes; left > 0; left -= PIECE) yield left >= PIECE ? sine : sine.subarray(0, left);
}

type Part = { readonly name: string; readonly value: string } | { readonly name: string; readonly filename: string; readonly size: number; readonly pieces: () => Iterable<Buffer> };

const BOUNDARY = '----murmur-upload-test';
const partHead = (part: Part) =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${'filename' in part ? `; filename="${part.filename}"\r\nContent-Type: audio/wav` : ''}\r\n\r\n`);
const closing = Buffer.from(`--${BOUNDARY}--\r\n`);

function* multipart(parts: readonly Part[]): Generator<Buffer> {
  for (const part of parts) {
    yield partHead(part);
    if ('value' in part) yield Buffer.from(part.value);
    else yield* part.pieces();
    yield Buffer.from('\r\n');
  }
  yield closing;
}

const lengthOf = (parts: readonly Part[]) =>
  parts.reduce((sum, part) => sum + partHead(part).length + ('value' in part ? Buffer.byteLength(part.value) : part.size) + 2, 0) + closing.length;

interface Sent {
  readonly response: Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>;
  readonly request: ClientRequest;
  /** Bytes of body written so far. */
  sent(): number;
}

/**
 * POSTs the form piece by piece as the socket takes it; with a Content-Length
 * unless `chunked`. `stopAfter` bytes: stop writing there (and leave the request open).
 */
const post = (url: string, parts: readonly Part[], options: { chunked?: boolean; stopAfter?: number; path?: string } = {}): Sent => {
  let sent = 0;
  const headers: Record<string, string | number> = { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` };
  if (!options.chunked) headers['Content-Length'] = lengthOf(parts);
  const request = httpRequest(`${url}${options.path ?? '/v1/audio/transcriptions'}`, { method: 'POST', headers });
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
    request.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    // A refused upload may see its write fail after the answer came; only an error before it counts.
    request.on('error', reject);
  });
  response.catch(() => {});
  const pieces = multipart(parts);
  const pump = () => {
    for (;;) {
      if (request.destroyed) return;
      if (options.stopAfter !== undefined && sent >= options.stopAfter) return;
      const next = pieces.next();
      if (next.done) return void request.end();
      sent += next.value.length;
      if (!request.write(next.value)) return void request.once('drain', pump);
    }
  };
  pump();
  return { response, request, sent: () => sent };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('uploads stream to a temporary file', () => {
  let home: string;
  let tmp: string;
  let server: RunningServer;
  let url: string;
  /** The same runtime behind a 4 MiB upload limit. */
  let small: RunningServer;
  const seen: { path?: string; filename?: string; size?: number; inMemory?: boolean; samples: number }[] = [];
  let hold: Promise<void> | undefined;

  const uploads = () => (existsSync(tmp) ? readdirSync(tmp).filter((name) => name.startsWith(UPLOAD_PREFIX)) : []);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-upload-stream-'));
    tmp = storePaths(home).tmp;
    const fake = createFakeRuntime();
    const runtime: Runtime = {
      ...fake,
      config: loadConfig({}, { home }),
      transcribe: async (request: TranscribeRequest): Promise<TranscribeResult> => {
        if (request.model === 'missing') throw new AppError('model_not_found', "No model 'missing'.");
        const input = request.input;
        const entry: (typeof seen)[number] = { samples: 0 };
        seen.push(entry);
        if ('path' in input) Object.assign(entry, { path: input.path, filename: input.filename, size: statSync(input.path).size });
        if ('bytes' in input) Object.assign(entry, { inMemory: true, filename: input.filename, size: input.bytes.length });
        await hold;
        // The stored file, decoded for real a second at a time.
        const audio = await openAudioStream(input);
        try {
          for await (const chunk of audio.chunks()) entry.samples += chunk.length;
        } finally {
          await audio.close();
        }
        const duration = entry.samples / audio.sampleRate;
        return { model: 'fake-asr', text: `${entry.samples} samples`, duration, segments: [], timings: { totalMs: 1, realTimeFactor: 0.01 } };
      },
    };
    server = await startServer(runtime, { port: 0, graceMs: 1000, uploadLimitBytes: 192 * 1024 * 1024 });
    url = server.url;
    small = await startServer(runtime, { port: 0, graceMs: 1000, uploadLimitBytes: LIMIT });
  });
  afterEach(() => {
    seen.length = 0;
    hold = undefined;
  });
  afterAll(async () => {
    await server?.close();
    await small?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const audioPart = (dataBytes: number, filename = 'long.wav'): Part => ({ name: 'file', filename, size: 44 + dataBytes, pieces: () => wav(dataBytes) });

  // Over MEMORY_UPLOAD_BYTES: smaller bodies stay in memory.
  const SECONDS = Math.ceil((2 * MEMORY_UPLOAD_BYTES) / (RATE * 2));

  it('hands the runtime a path under the store tmp/, with the client name, and deletes it after the answer; file before or after model', async () => {
    for (const parts of [
      [audioPart(RATE * 2 * SECONDS, 'first.wav'), { name: 'model', value: 'fake-asr' }],
      [{ name: 'model', value: 'fake-asr' }, { name: 'response_format', value: 'json' }, audioPart(RATE * 2 * SECONDS, 'second.wav')],
    ] as Part[][]) {
      const res = await post(url, parts).response;
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ text: `${RATE * SECONDS} samples` });
    }
    expect(seen.map((s) => s.filename)).toEqual(['first.wav', 'second.wav']);
    for (const s of seen) {
      expect(s.path!.startsWith(join(tmp, UPLOAD_PREFIX))).toBe(true);
      expect(s.path).toMatch(new RegExp(`${UPLOAD_PREFIX}${process.pid}-[0-9a-f]+\\.tmp$`));
      expect(s.size).toBe(44 + RATE * 2 * SECONDS);
      expect(existsSync(s.path!)).toBe(false);
    }
    expect(uploads()).toEqual([]);
  });

  it('keeps a small upload (with a Content-Length) in memory: no file, the same audio', async () => {
    const res = await post(url, [{ name: 'model', value: 'fake-asr' }, audioPart(RATE * 2 * 3, 'short.wav')]).response;
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ text: `${RATE * 3} samples` });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBeUndefined();
    expect(seen[0]!.inMemory).toBe(true);
    expect(uploads()).toEqual([]);
  });

  it('names the upload by its client-side name in errors, and deletes it', async () => {
    const words = Buffer.from('just some text, not a sound');
    const text: Part = { name: 'file', filename: 'notes.txt', size: words.length, pieces: () => [words] };
    const res = await post(url, [{ name: 'model', value: 'fake-asr' }, text]).response;
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.message).toMatch(/^'notes\.txt' is not an audio file/);
    expect(uploads()).toEqual([]);
  });

  it('deletes the file when the request fails before the model runs, and after a streamed answer', async () => {
    const missing = await post(url, [audioPart(RATE * 2), { name: 'model', value: 'missing' }]).response;
    expect(missing.status).toBe(404);
    const invalid = await post(url, [audioPart(RATE * 2), { name: 'model', value: 'fake-asr' }, { name: 'response_format', value: 'mp3' }]).response;
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body).error.param).toBe('response_format');
    const streamed = await post(url, [audioPart(RATE * 2), { name: 'model', value: 'fake-asr' }, { name: 'stream', value: 'true' }]).response;
    expect(streamed.status).toBe(200);
    expect(streamed.body).toContain('transcript.text.done');
    expect(uploads()).toEqual([]);
  });

  it('keeps the memory it uses for a large upload well below the upload size', async () => {
    // Large enough that the bound means something: the dropped socket buffers wait for a GC, which V8 runs every few tens of MiB of them.
    const dataBytes = 160 * 1024 * 1024;
    // Warm up first: the code paths load and the allocator settles before the baseline.
    expect((await post(url, [audioPart(RATE * 2 * 10), { name: 'model', value: 'fake-asr' }]).response).status).toBe(200);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const res = await post(url, [{ name: 'model', value: 'fake-asr' }, audioPart(dataBytes)], { chunked: true }).response;
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ text: `${dataBytes / 2} samples` });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(seen.at(-1)!.size).toBe(44 + dataBytes);
    // Client and server share this process; between them they hold a few pieces, not the upload.
    expect(peak - baseline, `RSS grew by ${((peak - baseline) / 1024 / 1024).toFixed(1)} MiB`).toBeLessThan(dataBytes / 2);
    expect(uploads()).toEqual([]);
  });

  it('refuses a body over the limit with 413 as the count passes it, with a Content-Length or without, and leaves no file', async () => {
    const over = LIMIT + PIECE;
    // Declared too large: refused before any of it is stored.
    const declared = await post(small.url, [audioPart(over), { name: 'model', value: 'fake-asr' }]).response;
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error).toMatchObject({ code: 'payload_too_large', param: 'file' });
    // Chunked, so only counting finds out: the file had begun, and is gone.
    const chunked = post(small.url, [{ name: 'model', value: 'fake-asr' }, audioPart(over)], { chunked: true });
    const res = await chunked.response;
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body).error.message).toMatch(/larger than the daemon's limit of 4194304 bytes/);
    expect(seen).toEqual([]);
    expect(uploads()).toEqual([]);
  });

  it('refuses an over-limit body that is still coming, without waiting for its end', async () => {
    // The client sends a little over the limit and then nothing more, keeping the request open.
    const app = createApp({ ...createFakeRuntime(), config: loadConfig({}, { home }) }, { uploadLimitBytes: 1024 * 1024 });
    let pushed = 0;
    let stalled!: () => void;
    const stall = new Promise<void>((resolve) => (stalled = resolve));
    const pieces = multipart([{ name: 'model', value: 'fake-asr' }, audioPart(8 * 1024 * 1024)]);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pushed > 2 * 1024 * 1024) {
          stalled();
          return new Promise(() => {});
        }
        const next = pieces.next();
        if (next.done) return controller.close();
        pushed += next.value.length;
        controller.enqueue(new Uint8Array(next.value));
      },
    });
    const res = await app.request('/v1/audio/transcriptions', {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
      duplex: 'half',
    } as RequestInit);
    await stall;
    expect(res.status).toBe(413);
    expect(pushed).toBeLessThan(8 * 1024 * 1024);
    expect(uploads()).toEqual([]);
  });

  it('deletes the file of a client that goes away mid-upload, and of one that leaves while the model works', async () => {
    const leaving = post(url, [{ name: 'model', value: 'fake-asr' }, audioPart(32 * 1024 * 1024)], { stopAfter: 4 * 1024 * 1024 });
    await expect.poll(() => uploads().length).toBe(1);
    leaving.request.destroy();
    await expect.poll(() => uploads()).toEqual([]);
    expect(seen).toEqual([]);

    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    const waiting = post(url, [{ name: 'model', value: 'fake-asr' }, audioPart(RATE * 2 * SECONDS)]);
    await expect.poll(() => seen.length).toBe(1);
    expect(uploads()).toHaveLength(1);
    waiting.request.destroy();
    await sleep(50);
    release();
    await expect.poll(() => uploads()).toEqual([]);
  });

  it('answers malformed forms with a 400 and leaves nothing behind', async () => {
    const app = createApp({ ...createFakeRuntime(), config: loadConfig({}, { home }) });
    const cases: [string, string][] = [
      ['multipart/form-data; boundary=zzz', '--yyy\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nxxxx\r\n'],
      ['multipart/form-data', 'garbage'],
      // A file part that begins and never ends.
      [`multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF....`],
      [`multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${'x'.repeat(70 * 1024)}\r\n--${BOUNDARY}--\r\n`],
    ];
    for (const [type, body] of cases) {
      const res = await app.request('/v1/audio/transcriptions', { method: 'POST', headers: { 'Content-Type': type }, body });
      const error = ((await res.json()) as { error: { message: string; param: string } }).error;
      expect(res.status, `${type}: ${error.message}`).toBe(400);
    }
    const missing = await post(url, [{ name: 'model', value: 'fake-asr' }]).response;
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body).error).toMatchObject({ param: 'file', message: "Missing the 'file' field: the audio to transcribe." });
    expect(uploads()).toEqual([]);
  });

  it("uses the store's tmp/ when the store is there, else the system's, and never creates a store", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'murmur-upload-dir-'));
    try {
      expect(await uploadDirectory(join(dir, 'tmp'))()).toBe(join(dir, 'tmp'));
      expect(existsSync(join(dir, 'tmp'))).toBe(true);
      expect(await uploadDirectory(join(dir, 'no-store', 'tmp'))()).toBe(tmpdir());
      expect(existsSync(join(dir, 'no-store'))).toBe(false);
      writeFileSync(join(dir, 'a-file'), 'x');
      expect(await uploadDirectory(join(dir, 'a-file', 'tmp'))()).toBe(tmpdir());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes upload files that a daemon killed mid-request left behind, and only those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'murmur-upload-sweep-'));
    try {
      // A pid that is surely gone: far above the kernel's pid_max.
      for (const name of [`${UPLOAD_PREFIX}999999999-abcdef0123456789.tmp`, `${UPLOAD_PREFIX}${process.pid}-0123456789abcdef.tmp`, 'whisper-abc123', 'notes.txt']) writeFileSync(join(dir, name), 'x');
      expect(await sweepStaleUploads(dir)).toEqual([`${UPLOAD_PREFIX}999999999-abcdef0123456789.tmp`]);
      expect(readdirSync(dir).sort()).toEqual([`${UPLOAD_PREFIX}${process.pid}-0123456789abcdef.tmp`, 'notes.txt', 'whisper-abc123']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
