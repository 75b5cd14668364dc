import { Command } from 'commander';
import type { CommandContext } from './context.js';

export const rmCommand = (_ctx: CommandContext) => new Command('rm').description('(not yet built)');
