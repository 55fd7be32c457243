import { Tensor } from '../tensor/tensor.js';
import { RgbImage, readImage } from './decode.js';
import { Interpolation, resizeImage } from './resize.js';

/**
 * Input preprocessing, as keras.applications.imagenet_utils.preprocess_input (RGB input in 0..255):
 *   tf     x / 127.5 - 1, range [-1, 1] (MobileNet, Inception)
 *   caffe  RGB -> BGR, minus the ImageNet BGR means 103.939, 116.779, 123.68, no scaling (VGG16, ResNet50)
 *   torch  x / 255, minus means 0.485, 0.456, 0.406, divided by stds 0.229, 0.224, 0.225 (DenseNet)
 * and some that are not Keras modes, for models trained on simply scaled pixels:
 *   unit      x / 255, range [0, 1]: how convkit feeds CIFAR-10 to the course's models (data/dataset.ts), and
 *             what most Keras MNIST/CIFAR scripts do
 *   centered  x / 255 - 0.5, range [-0.5, 0.5]
 *   raw       x unchanged, 0..255 (`none` is the same)
 */
export type PreprocessMode = 'tf' | 'caffe' | 'torch' | 'unit' | 'centered' | 'raw' | 'none';
export const PREPROCESS_MODES: readonly PreprocessMode[] = ['tf', 'caffe', 'torch', 'unit', 'centered', 'raw', 'none'];

/**
 * The preprocessing each zoo model's weights expect: MobileNet is Keras's (mode 'tf'); vgg16-slim is VGG16,
 * which Keras pairs with 'caffe'; the CIFAR models are trained here on x / 255.
 */
export const ZOO_PREPROCESSING: Readonly<Record<string, PreprocessMode>> = {
  mobilenet: 'tf',
  'vgg16-slim': 'caffe',
  mlp: 'unit',
  baseline: 'unit',
  lenet5: 'unit',
  alexnet8: 'unit',
  vgg16: 'unit',
  inception10: 'unit',
  resnet18: 'unit',
};

/** The mode for a zoo model by name ('unit' for a name not in the table, like the CIFAR models). */
export function preprocessingFor(zooName: string): PreprocessMode {
  return ZOO_PREPROCESSING[zooName] ?? 'unit';
}

const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/** Modes that treat every channel alike, so they take grey (1-channel) input as well as RGB. */
const PER_PIXEL_MODES: readonly PreprocessMode[] = ['tf', 'unit', 'centered', 'raw', 'none'];

/** Applies a mode to NHWC values in 0..255 (3 channels, RGB; the per-pixel modes also take 1). */
export function preprocessInput(x: Tensor, mode: PreprocessMode): Tensor {
  if (!PREPROCESS_MODES.includes(mode)) throw new Error(`preprocessInput: argument 'mode' expected one of ${PREPROCESS_MODES.map((m) => `'${m}'`).join(', ')}, received '${String(mode)}'`);
  const c = x.shape[x.rank - 1];
  if (c !== 3 && !(c === 1 && PER_PIXEL_MODES.includes(mode))) {
    throw new Error(`preprocessInput: argument 'x' expected 3 (RGB) channels for mode '${mode}', received shape (${x.shape.join(', ')})`);
  }
  const src = x.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += c) {
    for (let k = 0; k < c; k++) {
      const v = src[i + k];
      if (mode === 'tf') out[i + k] = v / 127.5 - 1;
      else if (mode === 'unit') out[i + k] = v / 255;
      else if (mode === 'centered') out[i + k] = v / 255 - 0.5;
      else if (mode === 'none' || mode === 'raw') out[i + k] = v;
      else if (mode === 'torch') out[i + k] = (v / 255 - TORCH_MEAN[k]) / TORCH_STD[k];
      // caffe: output channel k (B, G, R) comes from input channel 2 - k.
      else out[i + k] = src[i + 2 - k] - CAFFE_MEAN_BGR[k];
    }
  }
  return new Tensor(out, x.shape);
}

export interface LoadImagesOptions {
  /** Model input [height, width, channels]; channels 3 (RGB) or 1 (ITU-R 601 luma, as PIL's 'L'). */
  inputShape: readonly [number, number, number] | readonly number[];
  mode: PreprocessMode;
  interpolation?: Interpolation;
}

/** One decoded image as a [height, width, channels] float block in 0..255. */
export function imageToArray(img: RgbImage, channels: number): Float32Array {
  const n = img.width * img.height;
  if (channels === 3) return Float32Array.from(img.data);
  if (channels !== 1) throw new Error(`imageToArray: argument 'channels' expected 1 or 3, received ${channels}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (img.data[i * 3] * 299 + img.data[i * 3 + 1] * 587 + img.data[i * 3 + 2] * 114) / 1000;
  return out;
}

/** Images (decoded or file paths) resized, stacked into an NHWC batch and preprocessed for a model. */
export function loadImages(images: readonly (string | RgbImage)[], opts: LoadImagesOptions): Tensor {
  const [h, w, c] = opts.inputShape;
  if (images.length === 0) throw new Error(`loadImages: argument 'images' expected at least one image, received none`);
  const block = h * w * c;
  const data = new Float32Array(images.length * block);
  images.forEach((item, i) => {
    const img = typeof item === 'string' ? readImage(item) : item;
    data.set(imageToArray(resizeImage(img, h, w, opts.interpolation ?? 'nearest'), c), i * block);
  });
  return preprocessInput(new Tensor(data, [images.length, h, w, c]), opts.mode);
}
