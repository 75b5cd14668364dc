import { createReadStream } from 'node:fs';

/**
 * Pulls bytes from an async source a piece at a time, so a decoder can look
 * ahead (a header) and then consume the rest as it comes. Only what the
 * caller asked to look at is buffered.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** True once the source has no more bytes. */
  ended = false;
  private closed = false;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly onClose: () => Promise<void> | void = () => {},
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Bytes looked at but not yet consumed, as one array. */
  buffered(): Uint8Array {
    if (this.pending.length > 1) this.pending = [concat(this.pending, this.pendingBytes)];
    return this.pending[0] ?? new Uint8Array(0);
  }

  /** Buffers until at least `n` bytes are available (or the source ends); returns the buffer. */
  async fill(n: number): Promise<Uint8Array> {
    while (this.pendingBytes < n && !this.ended) {
      const piece = await this.pull();
      if (piece) this.push(piece);
    }
    return this.buffered();
  }

  /** Drops the first `n` buffered bytes. */
  consume(n: number): void {
    const rest = this.buffered().subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  /** The next piece of bytes: what is buffered first, then the source's own pieces; undefined at the end. */
  async next(): Promise<Uint8Array | undefined> {
    if (this.pendingBytes) {
      const out = this.buffered();
      this.pending = [];
      this.pendingBytes = 0;
      return out;
    }
    while (!this.ended) {
      const piece = await this.pull();
      if (piece?.length) return piece;
    }
    return undefined;
  }

  /** Stops reading and releases the source (a file handle, a child process). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.iterator.return?.();
    } finally {
      await this.onClose();
    }
  }

  private push(piece: Uint8Array): void {
    if (!piece.length) return;
    this.pending.push(piece);
    this.pendingBytes += piece.length;
  }

  private async pull(): Promise<Uint8Array | undefined> {
    const result = await this.iterator.next();
    if (result.done) {
      this.ended = true;
      return undefined;
    }
    const value = result.value;
    return value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBufferLike);
  }
}

const concat = (pieces: Uint8Array[], total: number): Uint8Array => {
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
};

/** Reads a file in 64 KiB pieces through one file handle, never the whole file at once. */
export const fileBytes = (path: string): AsyncIterable<Uint8Array> => createReadStream(path, { highWaterMark: 64 * 1024 });

/** Serves bytes already in memory in pieces (views, no copies). */
export async function* memoryBytes(bytes: Uint8Array, pieceSize = 1024 * 1024): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.subarray(at, at + pieceSize);
}
