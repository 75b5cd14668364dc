import { Command } from 'commander';
import type { CommandContext } from './context.js';

export const listCommand = (_ctx: CommandContext) => new Command('list').description('(not yet built)');
