import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR_AUGMENT } from '../data/augment.js';
import { writeWeightsText } from '../io/weights-text.js';
import { writeCurves } from '../report/curves.js';
import { setSeed } from '../tensor/random.js';
import { DistributedUnavailableError, MpiGroup, initDistributed } from '../dist/index.js';
import { CSVLogger, Callback, ModelCheckpoint } from '../train/callbacks.js';
import { NonFiniteError } from '../train/step.js';
import { Adam, Optimizer, SGD } from '../train/optimizers.js';
import { backendName } from '../backend/index.js';
import type { Model } from '../models/model.js';
import { getCompiledOrNull } from '../train/fit.js';
import type { LossLike } from '../train/losses.js';
import { createModel, zoo } from '../zoo/index.js';
import { CliError, OUT_FILES, note } from './common.js';
import { CliPreprocess, DataSettings, colorModeFor, loadData, sourceOf } from './data.js';
import { TransferArgs, buildTransfer, startFineTuning, wantsTransfer } from './transfer.js';
import { fitOnFeatures } from '../train/feature-cache.js';
import { TRANSFER_FEATURES } from '../zoo/transfer.js';
import { checkDataFits, modelInputShape, openModelFile, parseModelArg } from './model-arg.js';

export interface TrainArgs extends DataSettings, TransferArgs {
  model: string;
  epochs: number;
  batchSize: number;
  /** Unset: the model file's optimizer when it has one, else Adam. */
  optimizer?: 'adam' | 'sgd';
  lr?: number;
  momentum: number;
  out: string;
  resume: boolean;
  validationFreq: number;
  augment: boolean;
  syncBn?: boolean;
  verbose: 0 | 1 | 2;
}

/** After each epoch: the curves picture and the weight dump next to the checkpoint. */
class ArtifactWriter extends Callback {
  override readonly leaderOnly = true;
  private pending: Promise<void> = Promise.resolve();
  constructor(private readonly out: string) {
    super();
  }
  override onEpochEnd(): void {
    const h = this.ctx.history.toJSON();
    writeWeightsText(this.ctx.model, join(this.out, OUT_FILES.weights));
    this.pending = this.pending.then(() => writeCurves({ epochs: h.epoch.map((e) => e + 1), history: h.history }, join(this.out, OUT_FILES.curves), { title: this.ctx.model.name, svg: true }));
  }
  done(): Promise<void> {
    return this.pending;
  }
}

/**
 * The optimizer: the model file's own (compiled from its training settings, state and all) unless --optimizer
 * says otherwise; --lr changes its learning rate. Otherwise Adam, or SGD, from the flags.
 */
function chooseOptimizer(a: TrainArgs, fromFile: Optimizer | null): Optimizer {
  if (fromFile && a.optimizer === undefined) {
    if (a.lr !== undefined) fromFile.learningRate = a.lr;
    return fromFile;
  }
  return a.optimizer === 'sgd' ? new SGD({ learningRate: a.lr ?? 0.01, momentum: a.momentum }) : new Adam({ learningRate: a.lr ?? 0.001 });
}

/**
 * The datasets give integer labels, so the loss is sparse categorical cross-entropy: a file's categorical
 * cross-entropy (one-hot labels) is the same loss on them, and its from_logits is kept. A loss that does not
 * take class labels (mean squared error) cannot train on them: noted, and replaced.
 */
function labelLoss(fileLoss: LossLike | undefined): LossLike {
  const sparse = 'sparse_categorical_crossentropy';
  if (fileLoss === undefined) return sparse;
  const { name, fromLogits } = typeof fileLoss === 'string' ? { name: fileLoss, fromLogits: false } : typeof fileLoss === 'function' ? { name: '', fromLogits: false } : { name: fileLoss.name, fromLogits: !!fileLoss.fromLogits };
  if (name === sparse || name === 'categorical_crossentropy') return fromLogits ? { name: sparse, fromLogits } : sparse;
  note(`the model file's loss ${name || '(a function)'} does not take class labels; training with ${sparse}`);
  return sparse;
}

export async function train(a: TrainArgs): Promise<void> {
  // Under `mpirun -np N` (N > 1): data-parallel over N processes, rank 0 alone prints and writes (src/dist).
  joinDistributed();
  const ref = parseModelArg(a.model, '--model');
  // A model file is read before anything is written, so a bad file leaves no empty run folder behind.
  const opened = ref.kind === 'file' ? await openModelFile(ref.path, '--model', { compile: true }) : null;
  mkdirSync(a.out, { recursive: true });
  const ckptPath = join(a.out, OUT_FILES.checkpoint);
  const resumeFrom = a.resume && existsSync(ckptPath) ? ckptPath : undefined;
  if (a.resume && !resumeFrom) console.log(`No checkpoint at ${ckptPath}; starting from scratch.`);

  setSeed(a.seed);
  // An image folder is read at the model's input size unless --image-size says otherwise (a zoo model is then
  // built for that size); a model file also fixes the channels.
  const fileShape = opened ? modelInputShape(opened.model) : null;
  const defined = ref.kind === 'zoo' ? zoo[ref.name].inputShape : fileShape;
  const data = await loadData(a, {
    imageSize: defined && defined[0] && defined[1] ? [defined[0], defined[1]] : undefined,
    colorMode: colorModeFor(fileShape?.[2]),
    verbose: a.verbose > 0,
  });
  const [h, w, c] = [data.train.height, data.train.width, data.train.channels];
  const numClasses = data.train.classNames.length;
  let model: Model;
  let from = '';
  if (ref.kind === 'file' && wantsTransfer(a)) throw new CliError(`--weights / --freeze-base / --fine-tune-from: only with --model mobilenet; '${ref.path}' is a model file`, 2);
  const transfer = ref.kind === 'zoo' && wantsTransfer(a);
  if (transfer) {
    const t = await buildTransfer(a, data.train);
    model = t.model;
    from = `${a.weights ? ` with weights '${a.weights}'` : ''}${a.freezeBase || a.fineTuneFrom ? ', base frozen' : ''}`;
  } else if (ref.kind === 'zoo') {
    const entry = zoo[ref.name];
    if ((entry.inputShape[0] !== h || entry.inputShape[2] !== c) && ref.name !== 'inception10' && ref.name !== 'resnet18') {
      console.log(`Note: ${ref.name} is defined for ${entry.inputShape.join('x')} input; building it for ${h}x${w}x${c}.`);
    }
    model = createModel(ref.name, { inputShape: [h, w, c], numClasses });
  } else {
    model = opened!.model;
    from = ` from '${ref.path}'`;
    checkDataFits(model, `--model '${ref.path}'`, data.train);
  }
  const compiled = getCompiledOrNull(model);
  const optimizer = chooseOptimizer(a, compiled?.optimizer ?? null);
  model.compile({ optimizer, loss: labelLoss(compiled?.config.loss), metrics: ['accuracy'] });

  console.log(`Training ${model.name} (${model.countParams().toLocaleString('en-US')} params)${from} on ${data.train.name}: ${data.train.n} train / ${data.test.n} test images, ${a.epochs} epochs, batch ${a.batchSize}, ${optimizer.className}${optimizer === compiled?.optimizer ? " (the model file's)" : ''}, backend ${backendName()}`);
  const artifacts = new ArtifactWriter(a.out);
  const checkpoints = [
    new ModelCheckpoint({ filepath: ckptPath }),
    new ModelCheckpoint({ filepath: join(a.out, OUT_FILES.best), saveBestOnly: true, saveWeightsOnly: true, verbose: 1 }),
  ];
  const callbacks = (append: boolean): Callback[] => [...checkpoints, new CSVLogger(join(a.out, OUT_FILES.log), ',', append), artifacts];
  // The CLI feeds models x / 255, or x / 127.5 - 1 for ImageNet transfer: recorded so evaluate and predict match.
  const preprocess: CliPreprocess = transfer ? 'tf' : 'unit';
  const augment = a.augment ? CIFAR_AUGMENT : undefined;
  const fitOpts = {
    batchSize: a.batchSize,
    validationFreq: a.validationFreq,
    verbose: a.verbose,
    syncBatchNorm: a.syncBn ?? false,
    checkpointExtra: { data: data.record, classNames: data.train.classNames, preprocess },
  };
  const trainSource = sourceOf(data.train, augment, preprocess);
  const testSource = sourceOf(data.test, undefined, preprocess);
  try {
    // A frozen base without augmentation maps each image to the same features: computed once (feature-cache.ts).
    if (transfer && model.layers.some((l) => l.name === TRANSFER_FEATURES) && !augment && !resumeFrom && (a.freezeBase || a.fineTuneFrom)) {
      console.log(`Frozen base, no augmentation: computing its features once per image, then training the head on them.`);
      await fitOnFeatures(model, TRANSFER_FEATURES, trainSource, { ...fitOpts, epochs: a.epochs, validationData: testSource, callbacks: callbacks(false) });
    } else {
      await model.fit(trainSource, undefined, { ...fitOpts, epochs: a.epochs, validationData: testSource, callbacks: callbacks(resumeFrom !== undefined), resumeFrom });
    }
    if (transfer && a.fineTuneFrom) {
      const { optimizer: slow, unfrozen } = startFineTuning(model, a);
      model.compile({ optimizer: slow, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
      const more = a.fineTuneEpochs ?? a.epochs;
      console.log(`Fine-tuning from ${a.fineTuneFrom}: ${unfrozen} layers unfrozen (BatchNormalization stays frozen), ${model.trainableWeights.length} trainable weights, Adam learning rate ${slow.learningRate}, ${more} more epochs`);
      await model.fit(trainSource, undefined, { ...fitOpts, initialEpoch: a.epochs, epochs: a.epochs + more, validationData: testSource, callbacks: callbacks(true) });
    }
  } catch (e) {
    if (e instanceof NonFiniteError) throw new CliError(`training stopped: ${e.message}. The last good checkpoint is ${existsSync(ckptPath) ? ckptPath : 'not written yet'}.`);
    throw e;
  }
  await artifacts.done();
  console.log(`Saved to ${a.out}: ${Object.values(OUT_FILES).join(', ')}`);
}

function joinDistributed(): MpiGroup | null {
  let group: MpiGroup | null;
  try {
    group = initDistributed();
  } catch (e) {
    if (e instanceof DistributedUnavailableError) throw new CliError(e.message);
    throw e;
  }
  if (group && group.rank !== 0) console.log = () => undefined; // errors still reach stderr from every rank
  if (group && group.rank === 0) console.log(`Distributed: ${group.size} processes (MPI), ${process.env.CONVKIT_THREADS ?? 'all'} kernel threads each; --batch-size is the global batch`);
  return group;
}
