import { Command } from 'commander';
import type { CommandContext } from './context.js';

export const pullCommand = (_ctx: CommandContext) => new Command('pull').description('(not yet built)');
