/**
 * Readers for the streamed bodies a murmur daemon (or any OpenAI-compatible
 * server) sends: server-sent events and newline-delimited JSON.
 */

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        yield buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
      }
    }
    buffer += decoder.decode();
    if (buffer) yield buffer.replace(/\r$/, '');
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

/**
 * The `data` payloads of an SSE body, one per event (multi-line data joined
 * with newlines), until the stream ends. `[DONE]` is yielded like any other.
 */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let data: string[] = [];
  for await (const line of lines(body)) {
    if (line === '') {
      if (data.length) yield data.join('\n');
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(5).replace(/^ /, ''));
    }
    // Comments (':') and event/id/retry fields are ignored: OpenAI streams only use data.
  }
  if (data.length) yield data.join('\n');
}

/** Each non-empty line of an NDJSON body, parsed. */
export async function* readNdjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  for await (const line of lines(body)) {
    if (line.trim()) yield JSON.parse(line) as unknown;
  }
}
