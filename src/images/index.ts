/** Image input for classification: decoding (JPEG, PNG), resizing, Keras preprocessing, ImageNet decoding. */
export * from './decode.js';
export * from './imagenet.js';
export * from './preprocess.js';
export * from './resize.js';
