// A command group registered by another file (`sae`), for files that add subcommands to it without editing it.
import type { Command } from 'commander';
import { ProbityError } from '../errors.js';

export function commandGroup(program: Command, name: string, by: string): Command {
  const group = program.commands.find((c) => c.name() === name);
  if (!group) throw new ProbityError('INTERNAL', `${by}: register the ${name} command first`);
  return group;
}
