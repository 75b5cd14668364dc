import { Command, Option } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import type { TranscribeFlags } from './ui/transcribe-run.js';

const examples = `
Examples:
  murmur transcribe meeting.wav                        # the text, a line per segment, on stdout
  murmur transcribe talk.mp3 -o talk.srt               # subtitles (the format from the extension)
  murmur transcribe *.wav --out-dir subs --format vtt  # one subtitle file per input
  cat voice.ogg | murmur transcribe --language en      # stdin (or name it: -)
  murmur transcribe long.flac --format jsonl           # a JSON object per segment, as decoded
  murmur transcribe *.wav --json                       # one JSON result per file, for scripts

Segments are written as they are decoded (text, jsonl, srt, vtt; json and
verbose_json whole at the end), so Ctrl-C keeps what was done. Long audio
(over 30 s) is cut at pauses by a voice-activity model when one is installed
(--vad pulls the catalog's default); --no-vad decodes 30 s windows. Progress
(percent and ETA) and a summary go to stderr.`;

interface RawFlags extends Omit<TranscribeFlags, 'format'> {
  readonly format?: string;
  readonly local?: boolean;
  readonly host?: string;
}

export const transcribeCommand = (ctx: CommandContext) =>
  new Command('transcribe')
    .description(describeVerb('transcribe'))
    .argument('[file...]', "audio files, or '-' for stdin (the default when stdin is not a terminal)")
    .option('-m, --model <name>', 'a speech-to-text model, pulled first if not downloaded (default: MURMUR_ASR_MODEL, else the catalog default)')
    .option('-l, --language <code>', 'the spoken language, e.g. en (models that take one; default: detected)')
    .addOption(new Option('-f, --format <format>', 'output format (default: from the -o extension, else text)').choices(['text', 'json', 'verbose_json', 'jsonl', 'srt', 'vtt']))
    .option('-o, --output <file>', "write the transcript to FILE as it is decoded, the format from its extension: .txt .srt .vtt .json .jsonl ('-' for stdout)")
    .option('--out-dir <dir>', 'write one transcript per input into DIR (name.txt, .json, .jsonl, .srt or .vtt)')
    .option('--json', 'print one JSON object per input when it is done (file, text, language, duration, segments, timings); transcripts still go to -o/--out-dir')
    .option('--vad', 'cut the audio at pauses with a voice-activity model (the default for long audio when one is installed)')
    .option('--no-vad', 'decode in fixed 30 s windows, without voice-activity detection')
    .option('--vad-model <name>', 'the voice-activity model (default: the catalog default, pulled if missing)')
    .option('--translate', 'translate into English (multilingual whisper models)')
    .option('--local', 'run the model in this process even if a daemon is running')
    .option('--host <url>', 'use the daemon (or OpenAI-compatible server) at URL')
    .addHelpText('after', examples)
    .action(async (named: string[], options: RawFlags, command: Command) => {
      const [{ UsageError }, { transcribeFiles, outputsFor, formatFor, unknownExtensionWarning }, { openRuntime }] = await Promise.all([
        import('../src/errors.js'),
        import('./ui/transcribe-run.js'),
        import('./runtime.js'),
      ]);
      if (options.local && options.host) throw new UsageError('--local and --host cannot be used together.');
      if (!named.length && ctx.stdin.isTTY) {
        throw new UsageError('Name an audio file to transcribe.', { hint: "Or pipe one in: `cat memo.wav | murmur transcribe` (or name stdin: '-')." });
      }
      const files = named.length ? named : ['-'];
      // commander sets vad true by default once --no-vad is declared; only an explicit --vad counts as asking.
      const explicitVad = command.getOptionValueSource('vad') === 'cli' ? options.vad : undefined;
      const flags: TranscribeFlags = { ...options, vad: explicitVad, format: options.format as TranscribeFlags['format'] };
      outputsFor(files, flags);
      formatFor(flags);
      const warning = unknownExtensionWarning(flags);
      if (warning) ctx.stderr.write(`${warning}\n`);
      await using runtime = await openRuntime(ctx, { local: options.local, host: options.host, command });
      await transcribeFiles(ctx, runtime, files, flags);
    });
