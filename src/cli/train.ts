import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR_AUGMENT } from '../data/augment.js';
import { writeWeightsText } from '../io/weights-text.js';
import { writeCurves } from '../report/curves.js';
import { setSeed } from '../tensor/random.js';
import { CSVLogger, Callback, ModelCheckpoint } from '../train/callbacks.js';
import { NonFiniteError } from '../train/step.js';
import { Adam, SGD } from '../train/optimizers.js';
import { imageSource } from '../train/source.js';
import { backendName } from '../backend/index.js';
import { createModel, zoo } from '../zoo/index.js';
import { CliError, DataSettings, OUT_FILES, loadData } from './common.js';

export interface TrainArgs extends DataSettings {
  model: string;
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr?: number;
  momentum: number;
  out: string;
  resume: boolean;
  validationFreq: number;
  augment: boolean;
  verbose: 0 | 1 | 2;
}

/** After each epoch: the curves picture and the weight dump next to the checkpoint. */
class ArtifactWriter extends Callback {
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

export async function train(a: TrainArgs): Promise<void> {
  if (!zoo[a.model]) throw new CliError(`--model: expected one of ${Object.keys(zoo).join(', ')}, received '${a.model}'`, 2);
  const entry = zoo[a.model];
  mkdirSync(a.out, { recursive: true });
  const ckptPath = join(a.out, OUT_FILES.checkpoint);
  const resumeFrom = a.resume && existsSync(ckptPath) ? ckptPath : undefined;
  if (a.resume && !resumeFrom) console.log(`No checkpoint at ${ckptPath}; starting from scratch.`);

  setSeed(a.seed);
  const data = await loadData(a);
  const [h, w, c] = [data.train.height, data.train.width, data.train.channels];
  const numClasses = data.train.classNames.length;
  if (entry.inputShape[0] !== h && a.model !== 'inception10' && a.model !== 'resnet18') {
    console.log(`Note: ${a.model} is defined for ${entry.inputShape.join('x')} input; building it for ${h}x${w}x${c}.`);
  }
  const model = createModel(a.model, { inputShape: [h, w, c], numClasses });
  const optimizer = a.optimizer === 'sgd' ? new SGD({ learningRate: a.lr ?? 0.01, momentum: a.momentum }) : new Adam({ learningRate: a.lr ?? 0.001 });
  model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });

  console.log(`Training ${model.name} (${model.countParams().toLocaleString('en-US')} params) on ${data.train.name}: ${data.train.n} train / ${data.test.n} test images, ${a.epochs} epochs, batch ${a.batchSize}, ${optimizer.className}, backend ${backendName()}`);
  const artifacts = new ArtifactWriter(a.out);
  const callbacks: Callback[] = [
    new ModelCheckpoint({ filepath: ckptPath }),
    new ModelCheckpoint({ filepath: join(a.out, OUT_FILES.best), saveBestOnly: true, saveWeightsOnly: true, verbose: 1 }),
    new CSVLogger(join(a.out, OUT_FILES.log), ',', resumeFrom !== undefined),
    artifacts,
  ];
  try {
    await model.fit(imageSource(data.train, a.augment ? CIFAR_AUGMENT : undefined), undefined, {
      epochs: a.epochs,
      batchSize: a.batchSize,
      validationData: imageSource(data.test),
      validationFreq: a.validationFreq,
      callbacks,
      verbose: a.verbose,
      resumeFrom,
      checkpointExtra: { data: { dataset: a.dataset, seed: a.seed, trainSize: a.trainSize, testSize: a.testSize } },
    });
  } catch (e) {
    if (e instanceof NonFiniteError) throw new CliError(`training stopped: ${e.message}. The last good checkpoint is ${existsSync(ckptPath) ? ckptPath : 'not written yet'}.`);
    throw e;
  }
  await artifacts.done();
  console.log(`Saved to ${a.out}: ${Object.values(OUT_FILES).join(', ')}`);
}
