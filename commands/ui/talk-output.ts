import type { Writable } from 'node:stream';
import type { ConversationEvent } from '../../src/runtime/conversation.js';
import type { AudioSink, SinkTarget } from './speak-output.js';

/**
 * What `murmur talk` shows and plays. The terminal gets `you: TEXT` for
 * each turn heard and `murmur: ` followed by the reply as it streams (one
 * line each; a turn heard while a reply is being written is shown after
 * it); with --json, one JSON object per event instead, audio described but
 * not included. The replies' audio goes to the speakers (through the
 * player child `murmur speak` uses) or to one file, in order.
 */

/** An event as a JSON line: errors as their message, audio as its place and length, never its samples. */
export const eventJson = (event: ConversationEvent): Record<string, unknown> => {
  if (event.type === 'audio') {
    const { samples, sampleRate, offsetMs, text } = event.chunk;
    return { type: 'audio', response: event.response, text, offsetMs, durationMs: Math.round((samples.length / sampleRate) * 1000), sampleRate };
  }
  if ('error' in event && event.error) return { ...event, error: event.error.message };
  return { ...event };
};

export interface TalkPrinter {
  event(event: ConversationEvent): void;
  /** The conversation is over: turns still held back are shown. */
  end(): void;
}

/**
 * Writes events as lines on `out`; warnings (a turn not transcribed, a
 * reply that failed) go to `warn`. Each turn with words in it gets one
 * reply, in order, so a turn heard while a reply is being written (from a
 * recording, where turns come faster than replies) waits and is shown just
 * before its own reply.
 */
export const createTalkPrinter = (out: Writable, warn: Writable, json: boolean): TalkPrinter => {
  if (json) return { event: (event) => void out.write(`${JSON.stringify(eventJson(event))}\n`), end: () => undefined };
  /** A reply line being written, and whether text has begun on it. */
  let open = false;
  let begun = false;
  /** Whether what was written last ends in a space (a line break made one). */
  let spaced = false;
  const waiting: string[] = [];
  const next = () => {
    const line = waiting.shift();
    if (line) out.write(line);
  };
  return {
    event(event) {
      switch (event.type) {
        case 'transcript': {
          const text = event.text.replace(/\s+/g, ' ').trim();
          if (!text) return;
          if (open || waiting.length) waiting.push(`you: ${text}\n`);
          else out.write(`you: ${text}\n`);
          return;
        }
        case 'transcript_failed':
          warn.write(`murmur: warning: turn ${event.turn} could not be transcribed: ${event.error.message}\n`);
          return;
        case 'response_started':
          out.write('murmur: ');
          open = true;
          begun = false;
          spaced = false;
          return;
        case 'text_delta': {
          // One line per reply: the model's line breaks become spaces.
          let text = event.text.replace(/\s*[\r\n]+\s*/g, ' ');
          if (!begun || spaced) text = text.replace(/^ +/, '');
          if (!text) return;
          begun = true;
          spaced = text.endsWith(' ');
          out.write(text);
          return;
        }
        case 'response_done':
          out.write(event.status === 'cancelled' ? ' [interrupted]\n' : event.status === 'failed' ? ' [failed]\n' : '\n');
          open = false;
          if (event.status === 'failed') warn.write(`murmur: warning: the reply failed: ${event.error?.message ?? 'unknown error'}\n`);
          // The turn the next reply answers.
          next();
          return;
        default:
      }
    },
    end() {
      if (open) out.write('\n');
      open = false;
      while (waiting.length) next();
    },
  };
};

export interface ReplyAudio {
  /** Takes a reply's audio chunk, in order. */
  write(samples: Float32Array, sampleRate: number): void;
  /** A reply was cut off: the speakers stop at once (a file keeps what was sent). */
  interrupted(): void;
  /** Plays or writes everything queued, then closes (a file is renamed into place). */
  end(): Promise<void>;
  /** Stops at once; a file being written is removed. */
  abort(): Promise<void>;
}

/** A file or stdout: one encoded stream for the whole conversation. */
const encodedAudio = (sink: AudioSink): ReplyAudio => ({
  write: (samples, sampleRate) => sink.write(samples, sampleRate),
  interrupted: () => undefined,
  end: () => sink.end(),
  abort: () => sink.abort(),
});

/**
 * The speakers: one player, fed continuously so sentences and replies
 * follow with no gap; a reply cut off stops it at once and the next reply
 * opens a new one.
 */
const speakerAudio = (open: () => Promise<AudioSink>): ReplyAudio => {
  let current: Promise<AudioSink> | undefined;
  const dropped: Promise<void>[] = [];
  return {
    write(samples, sampleRate) {
      current ??= open();
      current.then((sink) => sink.write(samples, sampleRate)).catch(() => undefined);
    },
    interrupted() {
      if (!current) return;
      dropped.push(current.then((sink) => sink.abort()).catch(() => undefined));
      current = undefined;
    },
    async end() {
      const sink = current;
      current = undefined;
      await Promise.all(dropped);
      await (await sink)?.end();
    },
    async abort() {
      const sink = current;
      current = undefined;
      await Promise.all(dropped);
      await (await sink?.catch(() => undefined))?.abort();
    },
  };
};

/** Opens where the replies' audio goes; the speakers are checked first (an AppError when there is no output device). */
export const openReplyAudio = async (target: SinkTarget, stdout: Writable): Promise<ReplyAudio> => {
  const { openSink } = await import('./speak-output.js');
  if (target.kind !== 'speakers') return encodedAudio(await openSink(target, stdout));
  await openSink(target, stdout); // the device check; nothing plays until the first write
  return speakerAudio(() => openSink(target, stdout));
};
