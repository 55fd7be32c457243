/** Model export: ONNX (see onnx.ts), and Model.prototype.toOnnx. */
import { Model } from '../models/model.js';
import { OnnxExportOptions, toOnnx } from './onnx.js';

export * from './onnx.js';
export * from './onnx-check.js';
export { registerOnnxConverter, activate, emit, type ConvertContext, type OnnxConverter } from './onnx-layers.js';
export { GraphBuilder, type Value } from './onnx-graph.js';

declare module '../models/model.js' {
  interface Model {
    /** The model as ONNX bytes (opset 13, weights embedded); see OnnxExportOptions. */
    toOnnx(opts?: OnnxExportOptions): Uint8Array;
  }
}

Model.prototype.toOnnx = function (this: Model, opts?: OnnxExportOptions) {
  return toOnnx(this, opts);
};
