#!/usr/bin/env node
// First: under mpirun, CONVKIT_THREADS defaults to cores / local ranks before the native backend starts.
import '../dist/thread-default.js';
import { Command, CommanderError, Option } from 'commander';
import '../index.js';
import { registerBuildNativeCommand } from './build-native.js';
import { CliError, parseFloatArg, parseIntArg } from './common.js';
import { COLOR_MODES, DATASETS, parseFraction, parseImageSize } from './data.js';
import { dumpWeights, evaluateCmd, summary } from './inspect.js';
import { registerConvertCommand } from './convert.js';
import { registerExportCommand } from './export.js';
import { registerMathsCommands } from './maths.js';
import { registerPredictCommand } from './predict.js';
import { registerReportCommand } from './report.js';
import { train } from './train.js';

/**
 * convkit on the command line. Every failure is one line on stderr and a non-zero exit: 2 for bad usage,
 * 1 for anything else.
 */
const program = new Command();
program.name('convkit').description('Build, train, inspect and run convolutional neural networks.').showHelpAfterError(false);
program.exitOverride();

const dataOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option('--dataset <name>', 'embedded (synthetic, offline), cifar10, mnist or fashion-mnist').choices([...DATASETS]))
    .option('--data <dir>', 'a folder with one subfolder of images (JPEG/PNG) per class')
    .option('--data-dir <dir>', 'folder with the CIFAR-10 .bin / MNIST IDX files (or where to download them)')
    .option('--download', 'download CIFAR-10 / MNIST / Fashion-MNIST if not found')
    .option('--train-size <n>', 'embedded dataset: training images', parseIntArg('--train-size', 1))
    .option('--test-size <n>', 'embedded dataset: test images', parseIntArg('--test-size', 1));

/** Options of `train` for an image folder (--data). */
const folderOptions = (cmd: Command): Command =>
  cmd
    .option('--image-size <h,w>', "--data: resize images to H,W (default: the model's input size)", parseImageSize)
    .addOption(new Option('--color-mode <mode>', '--data: grayscale, rgb (default) or rgba').choices([...COLOR_MODES]))
    .option('--validation-split <f>', '--data: the last fraction of the seeded shuffle validates (default 0.2)', parseFraction('--validation-split'))
    .option('--validation-data <dir>', '--data: a folder with the same class subfolders to validate on instead');

folderOptions(dataOptions(
  program
    .command('train')
    .description('train a zoo model, or go on training a model file; leaves a checkpoint, the best weights, curves, a weight dump and a CSV log in --out')
    .option('-m, --model <name|file>', 'zoo model, or a model file (.keras, .h5, .safetensors) or training folder to go on training', 'lenet5')
    .option('-e, --epochs <n>', 'total epochs', parseIntArg('--epochs'), 5)
    .option('-b, --batch-size <n>', 'batch size', parseIntArg('--batch-size'), 32)
    .addOption(new Option('--optimizer <name>', "optimizer (default: a model file's own, else adam)").choices(['adam', 'sgd']))
    .option('--lr <rate>', 'learning rate (adam 0.001, sgd 0.01)', parseFloatArg('--lr'))
    .option('--momentum <m>', 'SGD momentum', Number, 0.9)
    .option('--seed <n>', 'random seed (weights, shuffling, data)', parseIntArg('--seed', 0), 0)
    .option('-o, --out <dir>', 'output folder', 'runs/latest')
    .option('--resume', 'continue from <out>/checkpoint.safetensors when it exists')
    .option('--validation-freq <n>', 'validate every n epochs', parseIntArg('--validation-freq'), 1)
    .option('--augment', 'random crop (pad 4) and horizontal flip')
    .option('--sync-bn', 'under mpirun: batch norm with the statistics of the global batch (SyncBatchNormalization), not per process')
    .option('-w, --weights <file>', 'transfer learning, --model mobilenet: Keras MobileNet .h5 weights (with or without top) or a checkpoint of the base')
    .option('--freeze-base', 'transfer learning: MobileNet without its top, frozen; train a new classifier (features computed once without --augment)')
    .option('--fine-tune-from <layer>', 'transfer learning, second phase: unfreeze the layers from LAYER (e.g. conv_dw_13) and train at --fine-tune-lr')
    .option('--fine-tune-epochs <n>', 'epochs of the fine-tuning phase (default: --epochs)', parseIntArg('--fine-tune-epochs'))
    .option('--fine-tune-lr <rate>', 'Adam learning rate of the fine-tuning phase', parseFloatArg('--fine-tune-lr'), 1e-5)
    .option('--alpha <a>', 'transfer learning: MobileNet width multiplier (default: from a Keras file name, else 1)', parseFloatArg('--alpha'))
    .addOption(new Option('--verbose <level>', '0 silent, 1 progress bar, 2 one line per epoch').choices(['0', '1', '2']).default('1')),
)).action(async (o) => {
  await train({ ...o, resume: !!o.resume, augment: !!o.augment, freezeBase: !!o.freezeBase, verbose: Number(o.verbose) as 0 | 1 | 2 });
});

dataOptions(
  program
    .command('evaluate')
    .description('loss and accuracy of a model file, a checkpoint, or a zoo model with weights on the test split')
    .option('-m, --model <name|file>', 'a model file (.keras, .h5, .safetensors) or training folder, or a zoo model with --weights')
    .option('-w, --weights <file>', 'for a zoo --model: Keras .h5 / .weights.h5 file, or a convkit checkpoint')
    .option('-c, --checkpoint <path>', 'checkpoint file or training folder')
    .option('-b, --batch-size <n>', 'batch size', parseIntArg('--batch-size'), 128)
    .option('--json', 'print {"loss", "accuracy"}'),
).action((o) => evaluateCmd(o));

registerPredictCommand(program, dataOptions);

program
  .command('dump-weights')
  .description('write every weight (name, shape, values) to a text file')
  .option('-c, --checkpoint <path>', 'checkpoint file or training folder')
  .option('-m, --model <file>', 'a model file (.keras, .h5, .safetensors) or training folder')
  .option('-o, --out <file>', 'output text file', 'weights.txt')
  .action((o) => dumpWeights(o));

program
  .command('summary')
  .description("print a model's layers, output shapes and parameter counts (Keras's table)")
  .argument('<model>', 'zoo model name, model file (.keras, .h5, .safetensors) or training folder')
  .option('--json', 'print the summary as JSON')
  .option('--detail', 'per layer (blocks expanded): MACs, FLOPs, activation memory, receptive field and jump')
  .action((name, o) => summary(name, o));

registerMathsCommands(program);
registerReportCommand(program);
registerExportCommand(program);
registerConvertCommand(program);

registerBuildNativeCommand(program);

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed its message already (help and version exit 0).
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const err = e as Error;
    const line = (err.message ?? String(e)).split('\n');
    process.stderr.write(`convkit: ${line[0]}\n${line.slice(1).join('\n')}${line.length > 1 ? '\n' : ''}`);
    if (process.env.CONVKIT_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = e instanceof CliError ? e.exitCode : 1;
  }
}

void main();
