import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import type { Runtime } from '../src/runtime/types.js';
import type { ChatSettings } from './ui/chat-app.js';
import type { RawChatOptions } from './ui/chat-options.js';
import type { SpokenReply } from './ui/chat-speech.js';

const examples = `
Examples:
  murmur chat                                        # talk to the default model in the terminal
  murmur chat qwen3 "Why is the sky blue?"           # one answer, printed, then exit
  murmur chat Why is the sky blue                    # the same with the default model (no quotes needed)
  murmur chat -m qwen3 - < question.txt              # the prompt from stdin (- reads it)
  echo "Summarize: $(cat notes.txt)" | murmur chat qwen3 > summary.txt  # a prompt from a pipe, the answer to a file
  murmur chat qwen3 --json-schema person.json "Invent a person" --json  # JSON that fits a schema
  murmur chat qwen3 --speak "Tell me a short story"  # printed and said aloud as it streams

In the terminal UI: Enter sends, a line ending with \\ (or Alt+Enter) continues on a
new line, /help lists the slash commands (/clear /system /model /set /save /load /exit),
Ctrl-C stops a reply, and Ctrl-C twice (or Ctrl-D on an empty line) leaves.
A reply with no --max-tokens stops at 1024 tokens (a quarter of the context for
a smaller model); when the conversation outgrows the context, the oldest turns
are dropped. Inputs are kept in MURMUR_HOME/chat_history for Up to recall.`;


/**
 * Piped or with a prompt: one answer streamed to stdout (or one JSON object
 * with --json); with `voice` (--speak) also said aloud sentence by sentence.
 */
const answerOnce = async (
  ctx: CommandContext,
  runtime: Runtime,
  model: string,
  prompt: string,
  system: string | undefined,
  settings: ChatSettings,
  json: boolean,
  voice?: SpokenReply,
): Promise<void> => {
  const [{ AppError }, { DEFAULT_REPLY_TOKENS }, { formatTokenStats }] = await Promise.all([
    import('../src/errors.js'),
    import('./ui/chat-context.js'),
    import('./ui/format.js'),
  ]);
  let printed = '';
  let spoken = false;
  try {
    const result = await runtime.chat({
      // Not the whole context: a model that never stops would otherwise fill it.
      maxTokens: DEFAULT_REPLY_TOKENS,
      ...settings,
      model,
      messages: [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: prompt }],
      signal: ctx.signal,
      onToken: json && !voice ? undefined : (text) => {
        voice?.push(text);
        spoken = true;
        if (json) return;
        printed += text;
        ctx.stdout.write(text);
      },
    });
    // A runtime that returns without streaming is still said aloud.
    if (voice && !spoken && result.text) voice.push(result.text);
    if (json) {
      const { model: answered, text, finishReason, usage, timings } = result;
      ctx.stdout.write(`${JSON.stringify({ model: answered, text, finishReason, usage, timings })}\n`);
    } else {
      // A runtime that returns without streaming still prints its answer.
      if (!printed && result.text) ctx.stdout.write((printed = result.text));
      ctx.stdout.write('\n');
    }
    if (ctx.stderr.isTTY) {
      ctx.stderr.write(`${formatTokenStats(result.timings.tokensPerSecond, result.usage.completionTokens)}\n`);
    }
    await voice?.end();
  } catch (error) {
    await voice?.abort();
    if (!ctx.signal.aborted) throw error;
    if (printed) ctx.stdout.write('\n');
    throw (await import('./interrupt.js')).interrupted(error);
  }
};

/** On a terminal with no prompt: the ink UI, until the user leaves. */
const converse = async (ctx: CommandContext, runtime: Runtime, model: string, system: string | undefined, settings: ChatSettings): Promise<void> => {
  await runtime.getModel(model);
  const [{ render }, { createElement }, { ChatApp }, { readHistory }, { join }] = await Promise.all([
    import('ink'),
    import('react'),
    import('./ui/chat-app.js'),
    import('./ui/chat-history.js'),
    import('node:path'),
  ]);
  const historyFile = join(runtime.config.home, 'chat_history');
  const history = await readHistory(historyFile);
  const color = !ctx.env.NO_COLOR;
  const app = render(createElement(ChatApp, { runtime, model, system, settings, history, historyFile, color }), {
    stdin: ctx.stdin as NodeJS.ReadStream,
    stdout: ctx.stdout as NodeJS.WriteStream,
    stderr: ctx.stderr as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const stop = () => app.unmount();
  ctx.signal.addEventListener('abort', stop, { once: true });
  try {
    await app.waitUntilExit();
  } finally {
    ctx.signal.removeEventListener('abort', stop);
  }
};

export const chatCommand = (ctx: CommandContext) =>
  new Command('chat')
    .description(describeVerb('chat'))
    .argument('[model]', 'a chat model, pulled first if not downloaded (default: MURMUR_CHAT_MODEL, else the catalog default, else the first installed one)')
    .argument('[prompt...]', 'ask this, print the answer and exit (piped stdin is added after it; - reads the prompt from stdin)')
    .option('-m, --model <name>', 'the chat model (the same as naming it first)')
    .option('-s, --system <text>', 'system prompt')
    .option('--temperature <n>', 'sampling temperature, 0 for greedy')
    .option('--top-p <n>', 'nucleus sampling, above 0 and at most 1')
    .option('--seed <n>', 'random seed, for repeatable answers')
    .option('--max-tokens <n>', 'stop after this many tokens')
    .option('--json-schema <file>', 'constrain the answer to the JSON Schema in FILE')
    .option('--local', 'run the model in this process even if a daemon is running')
    .option('--host <url>', 'use the daemon (or OpenAI-compatible server) at URL')
    .option('--gpu <choice>', 'in-process only: auto, cuda, vulkan, metal or off (default: MURMUR_GPU or auto)')
    .option('--json', 'print one JSON object (text, usage, timings) instead of streaming text')
    .option('--speak', 'also say the answer aloud as it streams, with MURMUR_TTS_MODEL and MURMUR_VOICE (with a prompt or piped input; not in the terminal UI)')
    .addHelpText('after', examples)
    .action(async (modelArg: string | undefined, words: string[], options: RawChatOptions, command: Command) => {
      const { parseSampling, readJsonSchema, readAll, joinPrompt } = await import('./ui/chat-options.js');
      const { UsageError } = await import('../src/errors.js');
      if (options.local && options.host) throw new UsageError('--local and --host cannot be used together.');
      if (options.gpu !== undefined) (await import('../src/config.js')).parseGpu(options.gpu, '--gpu');
      const schema = options.jsonSchema ? await readJsonSchema(options.jsonSchema) : undefined;
      const settings: ChatSettings = { ...parseSampling(options), ...(schema ? { responseFormat: { type: 'json_schema', schema } } : {}) };
      // With -m the model is named, so every word is the prompt.
      if (options.model) [modelArg, words] = [options.model, modelArg === undefined ? words : [modelArg, ...words]];
      // Model names hold no spaces, so `murmur chat "Why is the sky blue?"` is a prompt for the default model.
      else if (modelArg && /\s/.test(modelArg) && !words.length) [modelArg, words] = [undefined, [modelArg]];
      // `-` alone is the prompt read from stdin (the ordinary Unix spelling), not a model.
      if (modelArg === '-' && !options.model) [modelArg, words] = [undefined, ['-', ...words]];

      const { openRuntime } = await import('./runtime.js');
      await using runtime = await openRuntime(ctx, { local: options.local, host: options.host, gpu: options.gpu, command });
      const { chooseModel, isModelName, defaultModelName, resemblesModelName } = await import('./ui/model-choice.js');
      const choice = { configured: runtime.config.chatModel, role: 'chat', kind: 'llm', label: 'chat model' } as const;
      // `murmur chat hello there`: a first word that names no model starts the prompt for the default model (the catalog's, pulled now, when no chat model is installed).
      if (modelArg && !options.model && !(await isModelName(runtime, modelArg))) {
        const { looksLikeModel, suggestion } = await resemblesModelName(runtime, modelArg, choice.kind);
        // A lone word that looks like a model name was meant as one: it is reported as unknown.
        const fallback = words.length || !looksLikeModel ? await defaultModelName(runtime, choice) : undefined;
        if (fallback) {
          if (looksLikeModel) {
            const fix = `${suggestion ? `did you mean ${suggestion}? ` : ''}use -m to name a model`;
            ctx.stderr.write(`murmur: '${modelArg}' is not a model; sending it as part of the prompt to ${fallback} (${fix})\n`);
          }
          [modelArg, words] = [undefined, [modelArg, ...words]];
        }
      }
      const fromStdin = words[0] === '-';
      if (fromStdin) words = words.slice(1);
      const argument = words.length ? words.join(' ') : undefined;
      const interactive = !argument && !fromStdin && Boolean(ctx.stdin.isTTY) && Boolean(ctx.stdout.isTTY) && !options.json;
      if (interactive && options.speak) {
        throw new UsageError('--speak works with a prompt or piped input; the terminal UI does not speak.', { hint: 'Run `murmur chat MODEL --speak "your question"`.' });
      }
      let prompt = '';
      if (!interactive) {
        // A terminal stdin is read too when there is no prompt and stdout is not a terminal (ended by Ctrl-D), or when asked for with -.
        prompt = joinPrompt(argument, ctx.stdin.isTTY && argument && !fromStdin ? undefined : await readAll(ctx.stdin));
        if (!prompt) throw new UsageError('No prompt: give one after the model name or pipe it on stdin.');
      }
      const model = await chooseModel(ctx, runtime, { ...choice, named: modelArg });
      if (interactive) return await converse(ctx, runtime, model, options.system, settings);
      // The speakers and the voice model are checked before anything is generated.
      const voice = options.speak ? await (await import('./ui/chat-speech.js')).openSpokenReply(ctx, runtime) : undefined;
      await answerOnce(ctx, runtime, model, prompt, options.system, settings, Boolean(options.json), voice);
    });
