// The `probity` command. Thin: parse options, call the library, print. Results go to stdout; diagnostics to stderr.
import { Command, CommanderError } from 'commander';
import { registerModelCommands } from './model-commands.js';
import { registerOrganismCommands } from './organism-commands.js';
import { registerSaeCommands } from './sae-commands.js';
import { registerDashboardCommands } from './dashboard-commands.js';
import { registerSaeConvertCommand } from './sae-convert-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerBenchCommand } from './bench-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerLogprobsCommand } from './logprobs-command.js';
import { registerTranscoderCommands } from './transcoder-commands.js';
import { registerGraphCommand } from './graph-command.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('probity')
    .description('Practical interpretability for transformer language models: run, hook, train SAEs, compare against baselines.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerModelCommands(program);
  registerOrganismCommands(program);
  registerSaeCommands(program);
  registerDashboardCommands(program);
  registerSaeConvertCommand(program);
  registerDemoCommand(program);
  registerBenchCommand(program);
  registerServeCommand(program);
  registerLogprobsCommand(program);
  registerTranscoderCommands(program);
  registerGraphCommand(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
}
