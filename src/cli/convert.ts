import type { Command } from 'commander';
import { getCompiledOrNull } from '../train/fit.js';
import '../train/saving.js';
import { createModel } from '../zoo/index.js';
import { CliError, note } from './common.js';
import { openModelFile, parseModelArg } from './model-arg.js';

/**
 * `convkit convert IN OUT`: any model convkit reads (a Keras .keras or legacy .h5, a checkpoint, a training
 * folder, or a zoo name) written as OUT's extension says: .keras (Keras 3's archive, which Keras loads) or
 * .safetensors (a convkit checkpoint carrying the config). Compile settings travel when the input has them.
 */
export async function convertCmd(input: string, out: string): Promise<void> {
  const kind = /\.keras$/i.test(out) ? 'Keras 3 archive' : /\.safetensors$/i.test(out) ? 'convkit checkpoint' : null;
  if (!kind) throw new CliError(`convert: argument 'out' expected a name ending in .keras or .safetensors, received '${out}'`, 2);
  const ref = parseModelArg(input, 'convert');
  const model = ref.kind === 'zoo' ? createModel(ref.name) : (await openModelFile(ref.path, 'convert', { compile: true })).model;
  if (ref.kind === 'zoo') note(`'${ref.name}' is a zoo name: writing ${model.name} with freshly initialised weights`);
  try {
    await model.save(out);
  } catch (e) {
    throw new CliError(`convert: ${(e as Error).message}`);
  }
  const compiled = getCompiledOrNull(model);
  console.log(
    `Wrote ${out} (${kind}): ${model.name}, ${model.layers.length} layers, ${model.countParams().toLocaleString('en-US')} params` +
      (compiled ? `, compiled (${compiled.optimizer.className})` : ', not compiled'),
  );
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('write a model file, checkpoint or training folder as .keras (Keras 3) or .safetensors (convkit checkpoint), by the output name')
    .argument('<in>', 'model file (.keras, .h5, .safetensors), training folder, or zoo model name')
    .argument('<out>', 'output file: .keras or .safetensors')
    .action((input: string, out: string) => convertCmd(input, out));
}
