import type { AudioStream } from '../../src/audio/decode.js';
import { AppError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';
import { CAPTURE_RATE, pushRecording, type Capture } from './talk-capture.js';
import type { ReplyAudio, TalkPrinter } from './talk-output.js';
import { followConversation } from './talk-session.js';

/** What one `murmur talk` run needs, its flags read and its input and output opened. */
export interface TalkPlan {
  readonly model: string;
  readonly asr: string;
  readonly vad: string;
  /** The voice model; absent: the replies are text only. */
  readonly tts?: string;
  readonly voice?: string;
  readonly speed?: number;
  readonly system?: string;
  readonly maxTokens?: number;
  /** A recording to answer; absent: `capture`, the microphone. */
  readonly recording?: AudioStream;
  readonly capture?: Capture;
  readonly audio?: ReplyAudio;
  readonly print: TalkPrinter;
}

/**
 * Runs the conversation: the input is pushed into the listening session,
 * the events printed and the replies' audio played or written. From a
 * recording it ends once every turn is answered (Ctrl-C: AppError
 * 'aborted', exit 130, no file); from the microphone, on Ctrl-C, which is
 * how a spoken conversation is left (the reply under way is cut off, the
 * file kept, exit 0).
 */
export const runTalk = async (ctx: CommandContext, runtime: Runtime, plan: TalkPlan): Promise<void> => {
  if (!runtime.openConversation) throw new AppError('not_supported', 'This runtime cannot hold a spoken conversation.', { hint: 'Run murmur talk with the models in this process.' });
  const conversation = await runtime.openConversation({
    model: plan.model,
    listen: { model: plan.asr, vad: plan.vad },
    speak: plan.tts ? { model: plan.tts, voice: plan.voice, speed: plan.speed } : false,
    instructions: plan.system,
    maxOutputTokens: plan.maxTokens,
    // A recording cannot hear the replies: its turns are answered in order, none cut off.
    interruptResponse: !plan.recording,
    signal: ctx.signal,
  });
  const followed = followConversation(conversation, (event) => {
    plan.print.event(event);
    if (event.type === 'audio') plan.audio?.write(event.chunk.samples, event.chunk.sampleRate);
    if (event.type === 'response_done' && event.status === 'cancelled') plan.audio?.interrupted();
  });
  const listen = conversation.listen!;
  const push = (samples: Float32Array, rate: number) => {
    // Closed: the conversation is ending (Ctrl-C), and what is still captured has nowhere to go.
    if (!ctx.signal.aborted) listen.push(samples, rate);
  };

  let heard: Promise<void>;
  if (plan.recording) heard = pushRecording(plan.recording, push, ctx.signal);
  else {
    plan.capture!.pipe((samples) => {
      try {
        push(samples, CAPTURE_RATE);
      } catch {
        // The listening session has closed: the conversation is ending.
      }
    });
    heard = plan.capture!.ended;
  }
  // The input is over (the recording pushed, or arecord's stream ended): every turn it held is answered.
  const answered = heard.then(async () => {
    await listen.close();
    await followed.settled();
  });
  answered.catch(() => undefined);
  let leave: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => (leave = resolve));
  if (ctx.signal.aborted) leave();
  ctx.signal.addEventListener('abort', leave, { once: true });

  try {
    await Promise.race([answered, interrupted, followed.finished]);
    const stopped = ctx.signal.aborted;
    plan.capture?.stop();
    await conversation.close();
    await followed.finished;
    plan.print.end();
    if (stopped && plan.recording) throw (await import('../interrupt.js')).interrupted();
    if (plan.recording && !followed.turns()) ctx.stderr.write('murmur: no speech was heard in the recording: nothing to answer.\n');
    // Leaving stops the speakers at once; a file keeps all that was sent.
    if (stopped) plan.audio?.interrupted();
    await plan.audio?.end();
  } finally {
    ctx.signal.removeEventListener('abort', leave);
    plan.capture?.stop();
    await conversation.close();
  }
};
