import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import { AUDIO_FORMATS, type AudioFormat } from '../src/audio/formats.js';
import type { CommandContext } from './context.js';

const examples = `
Examples:
  murmur speak "Hello there. How are you?"                # to the speakers, with the default voice
  murmur speak -o hello.mp3 "Hello there."                # to a file (wav, mp3, flac, opus, pcm by extension)
  murmur speak -o - "Hello" | aplay                       # WAV on stdout (--format for another)
  tail -f build.log | murmur speak                        # speak each line as it arrives
  murmur chat qwen3 "Tell a story" | murmur speak --voice amy --speed 1.2  # a reply, read aloud a little faster
  murmur speak --voices --model piper                     # list a model's voices
  murmur speak --batch lines.txt --out-dir out/ --jobs 2  # one file per line (or JSONL {text, voice?, out?, speed?})`;

interface SpeakOptions {
  readonly model?: string;
  readonly voice?: string;
  readonly speed?: string;
  readonly output?: string;
  readonly format?: string;
  readonly voices?: boolean;
  readonly json?: boolean;
  readonly batch?: string;
  readonly outDir?: string;
  readonly jobs?: string;
  readonly force?: boolean;
  readonly local?: boolean;
  readonly host?: string;
}

const FORMATS = AUDIO_FORMATS;
type Format = AudioFormat;

const parseFormat = async (raw: string | undefined): Promise<Format | undefined> => {
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase() === 'ogg' ? 'opus' : raw.toLowerCase();
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  const { UsageError } = await import('../src/errors.js');
  throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${raw}'.`);
};

/** A flag value the model refuses (an unknown --voice, a --speed out of range) is a usage error, exit 2, as a bad flag is. */
const asUsage = async (error: unknown): Promise<unknown> => {
  const { AppError, UsageError } = await import('../src/errors.js');
  if (!(error instanceof AppError) || error.code !== 'invalid_request' || !['voice', 'speed'].includes(error.param ?? '')) return error;
  return new UsageError(error.message, { hint: error.hint, cause: error });
};

export const speakCommand = (ctx: CommandContext) =>
  new Command('speak')
    .description(describeVerb('speak'))
    .argument('[text...]', 'what to say; "-" (or nothing, with a pipe) reads stdin')
    .option('-m, --model <name>', 'a voice model, pulled first if not downloaded (default: MURMUR_TTS_MODEL, else the catalog default voice)')
    .option('--voice <name>', 'a voice of the model, or a speaker id (see --voices; default: MURMUR_VOICE, else the model default)')
    .option('--speed <n>', 'pace, 0.25 to 4 (default 1)')
    .option('-o, --output <file>', 'write audio to FILE (format from its extension) or to stdout with "-"')
    .option('--format <fmt>', `force the file format: ${FORMATS.join(', ')}`)
    .option('--voices', "list the model's voices (all installed voice models without --model)")
    .option('--batch <file>', 'synthesize each line of FILE (text, or JSONL {text, voice?, out?, speed?}) into --out-dir')
    .option('--out-dir <dir>', 'where --batch writes its files')
    .option('--jobs <n>', 'utterances --batch synthesizes at once (default 1)')
    .option('--force', 'with --batch: make every file again, even those unchanged since the last run')
    .option('--local', 'run the model in this process even if a daemon is running')
    .option('--host <url>', 'use the daemon (or OpenAI-compatible server) at URL')
    .option('--json', 'JSON output: what was written (stderr when the audio goes to stdout), the voices, or the batch summary')
    .addHelpText('after', examples)
    .action(async (words: string[], options: SpeakOptions, command: Command) => {
      const { UsageError } = await import('../src/errors.js');
      if (options.local && options.host) throw new UsageError('--local and --host cannot be used together.');
      const format = await parseFormat(options.format);
      const [{ parseCount, parseNumber }, { MAX_SPEED, MIN_SPEED }] = await Promise.all([import('../src/config.js'), import('../src/runtime/speak.js')]);
      const speed =
        options.speed === undefined ? undefined : parseNumber(options.speed, '--speed', (n) => n >= MIN_SPEED && n <= MAX_SPEED, `between ${MIN_SPEED} and ${MAX_SPEED}`);
      const jobs = options.jobs === undefined ? 1 : parseCount(options.jobs, '--jobs');
      if (options.batch && !options.outDir) throw new UsageError('--batch needs --out-dir DIR for its files.');
      if (options.batch && (words.length || options.output)) throw new UsageError('--batch reads its text from FILE; give no text and no --output.');
      // Flags that do not apply here change nothing: said once, not refused.
      const unused = [
        ...(!options.batch ? (['outDir', 'jobs', 'force'] as const).filter((k) => options[k] !== undefined).map((k) => `--${k === 'outDir' ? 'out-dir' : k}`) : []),
        ...(!options.batch && !options.output && format ? ['--format'] : []),
      ];
      if (unused.length && !options.voices) ctx.stderr.write(`murmur: warning: ${unused.join(', ')} ${unused.length > 1 ? 'apply' : 'applies'} only with ${unused.includes('--format') ? '-o or ' : ''}--batch; ignored.\n`);

      // The batch file is read first: a missing or unreadable one is said before any model is pulled or loaded.
      let plan: import('./ui/batch-input.js').BatchPlan | undefined;
      if (options.batch && !options.voices) {
        const { readBatch } = await import('./ui/batch-input.js');
        plan = await readBatch(options.batch, format ?? 'wav');
        for (const warning of plan.warnings) ctx.stderr.write(`murmur: warning: ${warning}\n`);
      }

      const { openRuntime } = await import('./runtime.js');
      await using runtime = await openRuntime(ctx, { local: options.local, host: options.host, command });
      if (options.voices) {
        const { printVoices } = await import('./ui/speak-voices.js');
        return await printVoices(ctx, runtime, options.model, Boolean(options.json));
      }
      const { chooseModel } = await import('./ui/model-choice.js');
      const model = await chooseModel(ctx, runtime, { named: options.model, configured: runtime.config.ttsModel, role: 'tts', kind: 'tts', label: 'voice model' });
      const { interrupted } = await import('./interrupt.js');

      if (plan) {
        const { runBatch, describeSummary } = await import('./ui/batch-run.js');
        const summary = await runBatch(ctx, runtime, plan, { model, outDir: options.outDir!, jobs, voice: options.voice, speed, force: options.force });
        if (options.json) ctx.stdout.write(`${JSON.stringify(summary)}\n`);
        ctx.stderr.write(`${describeSummary(summary)}\n`);
        // After the summary: an interrupted batch still says what it finished, then exits 130.
        if (summary.interrupted || ctx.signal.aborted) throw interrupted();
        if (summary.failed) process.exitCode = 1;
        return;
      }

      const argument = words.length && !(words.length === 1 && words[0] === '-') ? words.join(' ') : undefined;
      if (!argument && ctx.stdin.isTTY && words[0] !== '-') throw new UsageError('No text: give it as an argument, or pipe it on stdin (or pass "-").');
      const { openSink } = await import('./ui/speak-output.js');
      const { feedSession } = await import('./ui/speak-input.js');
      let target: Parameters<typeof openSink>[0] = { kind: 'speakers' };
      if (options.output === '-') {
        // Binary on a terminal is garbage on screen (and can leave it in a strange state).
        if (ctx.stdout.isTTY) throw new UsageError(`not writing binary audio to a terminal; redirect it (> out.${format ?? 'wav'}) or use -o FILE`);
        target = { kind: 'stdout', format: format ?? 'wav' };
      }
      else if (options.output) {
        const { formatFromPath } = await import('../src/audio/formats.js');
        const fromPath = formatFromPath(options.output);
        if (!format && !fromPath) throw new UsageError(`Cannot tell the format of '${options.output}' from its extension.`, { hint: `Use .wav, .mp3, .flac, .opus or .pcm, or pass --format.` });
        target = { kind: 'file', path: options.output, format: (format ?? fromPath) as Format };
      }
      const sink = await openSink(target, ctx.stdout);
      const started = performance.now();
      let summary;
      let session;
      let sampleRate: number | undefined;
      try {
        session = await runtime.openSpeech({ model, voice: options.voice, speed, signal: ctx.signal });
        const feeding = feedSession(session, argument ?? ctx.stdin, ctx.signal);
        feeding.catch(() => undefined); // awaited below, after the audio
        for await (const chunk of session) {
          sampleRate ??= chunk.sampleRate;
          sink.write(chunk.samples, chunk.sampleRate);
        }
        ctx.signal.throwIfAborted();
        await feeding;
        summary = await session.done;
        if (summary.cancelled) ctx.signal.throwIfAborted();
        if (!summary.characters) throw new UsageError('There is no text to speak: the input is empty or only whitespace.');
        await sink.end();
      } catch (error) {
        await sink.abort();
        // Whatever Ctrl-C cut short (a write, a read, the synthesis), it reads as one interrupt, with no partial file left.
        if (ctx.signal.aborted) throw interrupted(error);
        throw await asUsage(error);
      }
      if (!summary.samples) ctx.stderr.write('murmur: nothing in the text could be spoken by this voice.\n');
      if (options.json) {
        const { describeSpoken } = await import('./ui/speak-output.js');
        const report = await describeSpoken(target, summary, { model: session.model ?? model, voice: session.voice, sampleRate: sampleRate ?? session.sampleRate, totalMs: performance.now() - started });
        // With the audio on stdout, the report goes to stderr so the two do not mix.
        (target.kind === 'stdout' ? ctx.stderr : ctx.stdout).write(`${JSON.stringify(report)}\n`);
      }
    });
