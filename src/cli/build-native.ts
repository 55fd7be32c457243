import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { CliError } from './common.js';

/**
 * `convkit build-native`: compiles the C++ backend from the package's own sources. npm 11 does not run a
 * dependency's install script until the user approves it, so a project that depends on convkit builds it here.
 */
export function registerBuildNativeCommand(program: Command): void {
  program
    .command('build-native')
    .description('compile the C++ backend from native/ with node-gyp (nothing is downloaded)')
    .option('--verbose', 'show the compiler output')
    .action((o: { verbose?: boolean }) => {
      const script = fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url));
      const r = spawnSync(process.execPath, [script, '--strict', ...(o.verbose ? ['--verbose'] : [])], { stdio: 'inherit' });
      if (r.status !== 0) throw new CliError('the native backend was not built (see the line above)');
    });
}
