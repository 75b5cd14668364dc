import { rmSync } from 'node:fs';
import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import type { Runtime } from '../src/runtime/types.js';
import type { SinkTarget } from './ui/speak-output.js';

const examples = `
Examples:
  murmur talk                                            # talk with the default models: microphone in, speakers out
  murmur talk qwen3 --asr whisper-tiny --voice amy --system "Answer in one sentence."  # choose each model
  murmur talk qwen3 --input question.wav -o answer.mp3   # answer a recording; the replies' audio to a file
  cat question.wav | murmur talk --input - -o - | aplay  # audio in and out through pipes
  murmur talk --json                                     # one JSON object per event, for scripts
  murmur talk --host http://127.0.0.1:11470              # the daemon runs the loop (its realtime door)

Each turn heard is printed as "you: …" and each reply as "murmur: …" while it
streams; speaking over a reply cuts it off. Ctrl-C leaves. The microphone is
read with arecord (alsa-utils); use headphones, or the microphone hears the replies.`;

interface TalkOptions {
  readonly asr?: string;
  readonly vad?: string;
  readonly tts?: string;
  readonly voice?: string;
  readonly speed?: string;
  readonly system?: string;
  readonly maxTokens?: string;
  readonly input?: string;
  readonly output?: string;
  readonly json?: boolean;
  readonly local?: boolean;
  readonly host?: string;
}

/** Where the replies' audio goes: -o FILE (format from its extension), -o - (WAV on stdout), else the speakers. */
const audioTarget = async (output: string | undefined): Promise<SinkTarget> => {
  if (output === '-') return { kind: 'stdout', format: 'wav' };
  if (!output) return { kind: 'speakers' };
  const [{ formatFromPath }, { UsageError }] = await Promise.all([import('../src/audio/formats.js'), import('../src/errors.js')]);
  const format = formatFromPath(output);
  if (!format) throw new UsageError(`Cannot tell the format of '${output}' from its extension.`, { hint: 'Use .wav, .mp3, .flac, .opus or .pcm.' });
  return { kind: 'file', path: output, format };
};

/** The four models: the ones named, else the configured or catalog defaults (pulled when missing, as chat and speak do). */
const chooseModels = async (ctx: CommandContext, runtime: Runtime, chat: string | undefined, options: TalkOptions, speak: boolean) => {
  const { chooseModel } = await import('./ui/model-choice.js');
  const model = await chooseModel(ctx, runtime, { named: chat, configured: runtime.config.chatModel, role: 'chat', kind: 'llm', label: 'chat model' });
  const asr = await chooseModel(ctx, runtime, { named: options.asr, configured: runtime.config.asrModel, role: 'asr', kind: 'asr', label: 'speech-to-text model' });
  const vad = await chooseModel(ctx, runtime, { named: options.vad, role: 'vad', kind: 'vad', label: 'voice-activity model' });
  const tts = speak ? await chooseModel(ctx, runtime, { named: options.tts, configured: runtime.config.ttsModel, role: 'tts', kind: 'tts', label: 'voice model' }) : undefined;
  return { model, asr, vad, tts };
};

export const talkCommand = (ctx: CommandContext) =>
  new Command('talk')
    .description(describeVerb('talk'))
    .argument('[chat-model]', 'the chat model that answers, pulled first if not downloaded (default: MURMUR_CHAT_MODEL, else the catalog default)')
    .option('--asr <model>', 'the speech-to-text model (default: MURMUR_ASR_MODEL, else the catalog default)')
    .option('--vad <model>', 'the voice-activity model that finds where turns end (default: the catalog default)')
    .option('--tts <model>', 'the voice model the replies are spoken with (default: MURMUR_TTS_MODEL, else the catalog default)')
    .option('--voice <name>', 'a voice of the voice model (default: MURMUR_VOICE, else the model default)')
    .option('--speed <n>', 'speaking pace, 0.25 to 4 (default 1)')
    .option('-s, --system <text>', 'system prompt')
    .option('--max-tokens <n>', 'stop each reply after this many tokens')
    .option('-i, --input <file>', "talk from a recording instead of the microphone ('-' for stdin); exits once every turn is answered")
    .option('-o, --output <file>', "write the replies' audio to FILE (format from its extension) or to stdout with '-', instead of playing it")
    .option('--json', 'print one JSON object per event (transcripts, text, timings) instead of lines')
    .option('--local', 'run the models in this process even if a daemon is running')
    .option('--host <url>', "talk through the daemon at URL (its realtime door, /v1/realtime)")
    .addHelpText('after', examples)
    .action(async (chatModel: string | undefined, options: TalkOptions, command: Command) => {
      const [{ parseNumber }, { checkSpeed }, { UsageError }] = await Promise.all([import('../src/config.js'), import('../src/runtime/speak.js'), import('../src/errors.js')]);
      if (options.local && options.host) throw new UsageError('--local and --host cannot be used together.');
      const speed = options.speed === undefined ? undefined : parseNumber(options.speed, '--speed');
      try {
        checkSpeed(speed);
      } catch (error) {
        throw new UsageError(`--speed: ${(error as Error).message}`);
      }
      const maxTokens = options.maxTokens === undefined ? undefined : parseNumber(options.maxTokens, '--max-tokens', (n) => Number.isSafeInteger(n) && n >= 1, 'a whole number of 1 or more');
      const target = await audioTarget(options.output);
      const { checkOutputPath, partialPath } = await import('./ui/speak-output.js');
      if (target.kind === 'file') await checkOutputPath(target.path);

      // The input is checked before any model loads: a file that is not audio, or no microphone, fails at once.
      const [{ startCapture }, { openAudioStream }] = await Promise.all([import('./ui/talk-capture.js'), import('../src/audio/decode.js')]);
      const recording = options.input === undefined ? undefined : await openAudioStream(options.input === '-' ? { stream: ctx.stdin, filename: 'stdin' } : { path: options.input });
      let capture: Awaited<ReturnType<typeof startCapture>> | undefined;
      const leave = () => capture?.stop();
      // A second Ctrl-C exits at once (context.ts): arecord is stopped, and no partial file stays (speak-output.ts's temporary name).
      const onExit = () => {
        leave();
        if (target.kind === 'file') rmSync(partialPath(target.path), { force: true });
      };
      process.once('exit', onExit);
      try {
        capture = recording ? undefined : await startCapture(ctx.env);
        const { hasOutputDevice } = await import('../src/audio/playback.js');
        const speak = target.kind !== 'speakers' || hasOutputDevice();
        if (!speak) ctx.stderr.write('murmur: no audio output device was found: the replies are shown, not spoken (`-o reply.wav` keeps their audio).\n');

        const { openRuntime } = await import('./runtime.js');
        // A daemon that answers at MURMUR_HOST (or --host) runs the loop, its models warm; else this process does.
        await using runtime = await openRuntime(ctx, { local: options.local, host: options.host, command });
        const models = await chooseModels(ctx, runtime, chatModel, options, speak);
        const [{ openReplyAudio, createTalkPrinter }, { runTalk }] = await Promise.all([import('./ui/talk-output.js'), import('./ui/talk-run.js')]);
        const audio = speak ? await openReplyAudio(target, ctx.stdout) : undefined;
        // On a terminal, the ink UI; piped (or with --json), plain lines. Text beside audio on stdout would spoil the audio.
        const screen = ctx.stdout.isTTY && !options.json && target.kind !== 'stdout' ? (await import('./ui/talk-app.js')).openTalkScreen(ctx) : undefined;
        const print = screen ?? createTalkPrinter(target.kind === 'stdout' ? ctx.stderr : ctx.stdout, ctx.stderr, Boolean(options.json));
        if (!screen && !recording && ctx.stderr.isTTY) ctx.stderr.write('Listening. Speak; Ctrl-C leaves.\n');
        try {
          await runTalk(ctx, runtime, { ...models, voice: options.voice, speed, system: options.system, maxTokens, recording, capture, audio, print });
        } catch (error) {
          await audio?.abort();
          throw error;
        } finally {
          // Off the terminal before anything else is written there (an error's message).
          await screen?.close();
        }
      } finally {
        leave();
        await recording?.close();
        process.off('exit', onExit);
      }
    });
