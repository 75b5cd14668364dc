import { open } from 'node:fs/promises';

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

/** Bytes per file read: few enough reads that their async round trips stay cheap, small enough to bound memory. */
export const FILE_PIECE_BYTES = 1024 * 1024;

/**
 * Reads a file in pieces (1 MiB by default) through one file handle, never
 * the whole file at once: the next piece is read while the caller works on
 * this one. Each piece is a fresh buffer the caller may keep. The handle
 * opens on the first read and closes at the end, on an error, or when the
 * iteration is stopped early.
 */
export async function* fileBytes(path: string, pieceSize = FILE_PIECE_BYTES): AsyncIterable<Uint8Array> {
  const handle = await open(path, 'r');
  const read = async (): Promise<Uint8Array> => {
    const buffer = Buffer.allocUnsafe(pieceSize);
    const { bytesRead } = await handle.read(buffer, 0, pieceSize, null);
    // A short piece is copied out so it does not hold on to the whole buffer.
    return bytesRead === pieceSize ? buffer : new Uint8Array(buffer.subarray(0, bytesRead));
  };
  let ahead: Promise<Uint8Array> | undefined = read();
  try {
    for (;;) {
      const piece = await ahead;
      ahead = undefined;
      if (piece.length === 0) return;
      ahead = read();
      ahead.catch(() => {}); // awaited on the next turn, or below when stopped early
      yield piece;
    }
  } finally {
    await ahead?.catch(() => {});
    await handle.close();
  }
}

/** Serves bytes already in memory in pieces (views, no copies). */
export async function* memoryBytes(bytes: Uint8Array, pieceSize = 1024 * 1024): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.subarray(at, at + pieceSize);
}
