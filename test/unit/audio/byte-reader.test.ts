import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_PIECE_BYTES, fileBytes } from '../../../src/audio/decoders/byte-reader.js';

/** Open descriptors of this process, where the OS shows them (Linux /proc). */
const FD_DIR = '/proc/self/fd';
const hasProcFds = existsSync(FD_DIR);
const openFds = (): number => readdirSync(FD_DIR).length;

/** Asserts the open-descriptor count, or notes why it cannot be checked here. */
const expectFds = (count: number | undefined, expected: number | undefined): void => {
  if (!hasProcFds || count === undefined || expected === undefined) {
    console.warn(`skipping the open-file check: ${FD_DIR} does not exist on this system`);
    return;
  }
  expect(count).toBe(expected);
};
const fdsNow = (): number | undefined => (hasProcFds ? openFds() : undefined);

describe('fileBytes: reading a file in read-ahead pieces', () => {
  let dir: string;
  let path: string;
  let content: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'murmur-byte-reader-'));
    path = join(dir, 'data.bin');
    // Three and a half pieces and a few odd bytes: full pieces, then a short last one.
    content = randomBytes(3 * FILE_PIECE_BYTES + FILE_PIECE_BYTES / 2 + 7);
    writeFileSync(path, content);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('yields exactly the bytes of a multi-MiB file, in pieces the caller may keep', async () => {
    const pieces: Uint8Array[] = [];
    for await (const piece of fileBytes(path)) pieces.push(piece);
    // Concatenated only after the loop: a reused buffer would show up as wrong bytes here.
    const joined = Buffer.concat(pieces);
    expect(joined.length).toBe(content.length);
    expect(joined.equals(content)).toBe(true);
    expect(pieces.slice(0, -1).every((p) => p.length === FILE_PIECE_BYTES)).toBe(true);
    expect(pieces.at(-1)!.length).toBe(content.length % FILE_PIECE_BYTES);
  });

  it('honours a smaller piece size and still yields every byte', async () => {
    const size = 100_000;
    const pieces: Uint8Array[] = [];
    for await (const piece of fileBytes(path, size)) pieces.push(piece);
    expect(pieces).toHaveLength(Math.ceil(content.length / size));
    expect(Buffer.concat(pieces).equals(content)).toBe(true);
  });

  it('yields nothing for an empty file and closes it', async () => {
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, '');
    const before = fdsNow();
    const pieces: Uint8Array[] = [];
    for await (const piece of fileBytes(empty)) pieces.push(piece);
    expect(pieces).toEqual([]);
    expectFds(fdsNow(), before);
  });

  it('closes the file when the loop breaks early', async () => {
    const before = fdsNow();
    let during: number | undefined;
    let first: Uint8Array | undefined;
    for await (const piece of fileBytes(path)) {
      first = piece;
      during = fdsNow();
      break;
    }
    expect(Buffer.from(first!).equals(content.subarray(0, FILE_PIECE_BYTES))).toBe(true);
    // While reading, the file is open (so the count can tell); after the break it is closed.
    expectFds(during, before === undefined ? undefined : before + 1);
    expectFds(fdsNow(), before);
  });

  it("closes the file when the iterator's return() is called", async () => {
    const before = fdsNow();
    const iterator = fileBytes(path)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expectFds(fdsNow(), before === undefined ? undefined : before + 1);
    await expect(iterator.return!()).resolves.toMatchObject({ done: true });
    expectFds(fdsNow(), before);
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
  });

  it('closes the file when a read fails (a directory opens but cannot be read)', async () => {
    const before = fdsNow();
    const read = async () => {
      for await (const piece of fileBytes(dir)) void piece;
    };
    await expect(read()).rejects.toMatchObject({ code: 'EISDIR' });
    expectFds(fdsNow(), before);
  });

  it('fails on a missing file as before: lazily, on the first read, with the ENOENT error of opening it', async () => {
    const missing = join(dir, 'no-such-file.wav');
    const bytes = fileBytes(missing); // nothing is opened until the first read
    const iterator = bytes[Symbol.asyncIterator]();
    const error = await iterator.next().then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });
  });
});
