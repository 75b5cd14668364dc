import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openSink } from '../../../commands/ui/speak-output.js';

/** A stdout stand-in that counts the bytes it is given. */
class Counter extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    callback();
  }
}

const second = new Float32Array(22_050).map((_, i) => Math.sin(i / 10) * 0.3);

/*
 * Through a daemon, audio arrives faster than this process encodes mp3:
 * Ctrl-C used to wait while the whole queued backlog was encoded and
 * written (5–7 s), then threw it away. abort() now drops what is queued.
 */
describe('speak audio sink: abort drops the queued backlog', () => {
  it('encodes none of 40 queued mp3 chunks once abort() is called', async () => {
    const out = new Counter();
    const sink = await openSink({ kind: 'stdout', format: 'mp3' }, out);
    for (let i = 0; i < 40; i++) sink.write(second, 22_050);
    await sink.abort();
    expect(out.bytes).toBe(0);
  });

  it('still writes everything queued when it ends normally', async () => {
    const out = new Counter();
    const sink = await openSink({ kind: 'stdout', format: 'mp3' }, out);
    for (let i = 0; i < 4; i++) sink.write(second, 22_050);
    await sink.end();
    // 4 s of 22.05 kHz mono mp3 is tens of kB; a truncated stream would be a frame or two.
    expect(out.bytes).toBeGreaterThan(20_000);
  });
});
