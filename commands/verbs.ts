import type { Command } from './commander.js';
import type { CommandContext } from './context.js';

/**
 * The verbs, as the top-level help lists them, and how to load each one's
 * full command (options, examples, action). `murmur pull …` loads only
 * pull.ts; `murmur --help` loads none: every ES module costs start-up time
 * (2–3 ms each on a small VM), and `--help` has a budget of 150 ms.
 * test/unit/cli-verbs.test.ts checks these lines against the full commands.
 */
export interface Verb {
  readonly name: string;
  readonly alias?: string;
  readonly description: string;
  /** The arguments as the usage line shows them, e.g. `<model...>`. */
  readonly args: readonly string[];
  /** Whether the full command has options (the help shows `[options]`). */
  readonly takesOptions: boolean;
  readonly load: () => Promise<(ctx: CommandContext) => Command>;
}

export const verbs: readonly Verb[] = [
  {
    name: 'pull',
    description: 'download models into the store (resumable, verified), or import a local file or directory',
    args: ['[model...]'],
    takesOptions: true,
    load: async () => (await import('./pull.js')).pullCommand,
  },
  {
    name: 'list',
    alias: 'ls',
    description: 'list installed models (with --all, the catalog too)',
    args: [],
    takesOptions: true,
    load: async () => (await import('./list.js')).listCommand,
  },
  {
    name: 'show',
    description: 'details of a model: installed files and layout, or its catalog entry',
    args: ['<model>'],
    takesOptions: true,
    load: async () => (await import('./show.js')).showCommand,
  },
  {
    name: 'rm',
    alias: 'remove',
    description: 'remove installed models',
    args: ['<model...>'],
    takesOptions: true,
    load: async () => (await import('./rm.js')).rmCommand,
  },
  {
    name: 'cp',
    alias: 'copy',
    description: 'copy an installed model under a new name, sharing its files',
    args: ['<source>', '<target>'],
    takesOptions: true,
    load: async () => (await import('./cp.js')).cpCommand,
  },
  {
    name: 'chat',
    description: 'chat with a language model: a terminal UI, or one answer when piped or given a prompt',
    args: ['[model]', '[prompt...]'],
    takesOptions: true,
    load: async () => (await import('./chat.js')).chatCommand,
  },
  {
    name: 'speak',
    description: 'say text aloud, or write it to an audio file: streamed sentence by sentence',
    args: ['[text...]'],
    takesOptions: true,
    load: async () => (await import('./speak.js')).speakCommand,
  },
  {
    name: 'serve',
    description: 'run the daemon: OpenAI-compatible endpoints over HTTP, models kept warm',
    args: [],
    takesOptions: true,
    load: async () => (await import('./serve.js')).serveCommand,
  },
  {
    name: 'open',
    description: "open the daemon's browser page (chat, talk, speak, transcribe, models) in the default browser",
    args: [],
    takesOptions: true,
    load: async () => (await import('./open.js')).openCommand,
  },
  {
    name: 'load',
    description: 'load a model into the running daemon and keep it warm',
    args: ['<model>'],
    takesOptions: true,
    load: async () => (await import('./load.js')).loadCommand,
  },
  {
    name: 'unload',
    description: 'unload models from the running daemon, freeing their memory',
    args: ['[model...]'],
    takesOptions: true,
    load: async () => (await import('./unload.js')).unloadCommand,
  },
  {
    name: 'ps',
    description: 'list the models loaded in the running daemon',
    args: [],
    takesOptions: true,
    load: async () => (await import('./ps.js')).psCommand,
  },
  {
    name: 'status',
    description: 'whether a daemon answers, and its version, uptime and loaded models',
    args: [],
    takesOptions: true,
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'stop',
    description: 'stop the running daemon gracefully, as SIGTERM does: requests in flight finish first',
    args: [],
    takesOptions: true,
    load: async () => (await import('./stop.js')).stopCommand,
  },
  {
    name: 'service',
    description: 'install or uninstall a systemd user unit that runs `murmur serve`',
    args: ['<action>'],
    takesOptions: true,
    load: async () => (await import('./service.js')).serviceCommand,
  },
  {
    name: 'transcribe',
    description: 'turn speech in audio files (wav natively; mp3, flac, ogg and more decoded) into text or subtitles',
    args: ['[file...]'],
    takesOptions: true,
    load: async () => (await import('./transcribe.js')).transcribeCommand,
  },
  {
    name: 'talk',
    description: 'a spoken conversation with a chat model: microphone (or a recording) in, speakers (or a file) out',
    args: ['[chat-model]'],
    takesOptions: true,
    load: async () => (await import('./talk.js')).talkCommand,
  },
];

/** The verb named `name` (or its alias); throws for a name that is not one. */
export const verb = (name: string): Verb => {
  const found = verbs.find((v) => v.name === name || v.alias === name);
  if (!found) throw new Error(`no verb ${name}`);
  return found;
};

/** A verb's description, for its full command. */
export const describeVerb = (name: string): string => verb(name).description;
