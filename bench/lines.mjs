// bench/lines.mjs: the benches' one reader of a streamed HTTP body as lines
// (SSE's `data:` lines, NDJSON), decoded across chunk boundaries.

/** Each line of a fetch Response's body, trimmed, as it arrives. */
export async function* bodyLines(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n')) >= 0) {
      yield buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 1);
    }
  }
  if (buffer.trim()) yield buffer.trim();
}
