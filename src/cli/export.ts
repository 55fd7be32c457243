import { Option, type Command } from 'commander';
import { checkOnnxModel } from '../export/onnx-check.js';
import { exportOnnx } from '../export/onnx.js';
import { CliError, parseFloatArg, parseIntArg } from './common.js';
import { ModelArgs, modelFromArgs } from './model-arg.js';

/**
 * `convkit export --format onnx`: a model file's or a checkpoint's model, or a zoo model (weights from --weights,
 * or freshly initialised), written as ONNX and checked by the JavaScript ONNX checker before the command reports success.
 */
export interface ExportArgs extends ModelArgs {
  format: string;
  out: string;
  inputLayout: string;
  batchNorm: string;
  batchSize?: number;
}

export async function exportCmd(args: ExportArgs): Promise<void> {
  if (args.format !== 'onnx') throw new CliError(`--format: expected 'onnx', received '${args.format}'`, 2);
  const layout = args.inputLayout.toUpperCase();
  if (layout !== 'NHWC' && layout !== 'NCHW') throw new CliError(`--input-layout: expected nhwc or nchw, received '${args.inputLayout}'`, 2);
  if (args.batchNorm !== 'fold' && args.batchNorm !== 'keep') throw new CliError(`--batch-norm: expected fold or keep, received '${args.batchNorm}'`, 2);
  const { model, trained } = await modelFromArgs(args, { requireWeights: false });
  if (!trained) process.stderr.write(`convkit: note: no --weights, exporting ${model.name} with freshly initialised weights\n`);
  const bytes = exportOnnx(model, args.out, { inputLayout: layout, batchNorm: args.batchNorm, batchSize: args.batchSize ?? null });
  const r = checkOnnxModel(bytes);
  const shape = (s: (number | null)[]): string => `[${s.map((d) => d ?? 'batch').join(', ')}]`;
  console.log(
    `Wrote ${args.out}: ${model.name}, ${(bytes.length / 1e6).toFixed(1)} MB, ${r.nodes} nodes, ${r.initializers} initializers, ONNX opset ${r.opset}; ` +
      `input '${r.inputs[0].name}' ${shape(r.inputs[0].shape)} ${layout}, output '${r.outputs[0].name}' ${shape(r.outputs[0].shape)}`,
  );
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a model as ONNX (weights embedded), checked before it is reported')
    .addOption(new Option('--format <format>', 'output format').choices(['onnx']).default('onnx'))
    .option('-m, --model <name|file>', 'a model file (.keras, .h5, .safetensors) or training folder, or a zoo model')
    .option('-w, --weights <file>', 'for a zoo --model: Keras .h5 / .weights.h5 file, or a convkit checkpoint')
    .option('-c, --checkpoint <path>', 'checkpoint file or training folder (model and weights together)')
    .option('-o, --out <file>', 'output file', 'model.onnx')
    .addOption(new Option('--input-layout <layout>', 'ONNX input layout').choices(['nhwc', 'nchw']).default('nhwc'))
    .addOption(new Option('--batch-norm <how>', 'fold BatchNormalization into convolutions, or keep the nodes').choices(['fold', 'keep']).default('fold'))
    .option('--batch-size <n>', 'fixed batch size (default: symbolic)', parseIntArg('--batch-size'))
    .option('--alpha <a>', 'mobilenet width multiplier', parseFloatArg('--alpha'))
    .option('--size <n>', 'input height and width', parseIntArg('--size'))
    .option('--classes <n>', 'number of classes', parseIntArg('--classes'))
    .action((o) => exportCmd(o));
}
