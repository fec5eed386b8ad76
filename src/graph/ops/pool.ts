/** Pooling over NCHW: forward, shape rule and backward side by side. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { convOutputSize, type Pads } from './conv.js';
import { reduceMean } from './reduce.js';

type T = SymbolicTensor;

export interface Pool2dOptions {
  kernel: number;
  stride: number;
  pads: Pads;
}

function pooledShape(x: T, { kernel, stride, pads }: Pool2dOptions): number[] {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ho = convOutputSize(h, kernel, stride, pads[0], pads[2]);
  const wo = convOutputSize(w, kernel, stride, pads[1], pads[3]);
  if (ho <= 0 || wo <= 0) throw new Error(`pooling: input ${h}x${w} is too small for a ${kernel}x${kernel} window`);
  return [n, c, ho, wo];
}

function attributes({ kernel, stride, pads }: Pool2dOptions) {
  return { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pads[0], pads[1], pads[2], pads[3]] };
}

/** Padding counts as -inf, as in PyTorch and TensorFlow 'same'. Backward scatters dY to the argmax positions. */
export function maxPool2d(g: Graph, x: T, options: Pool2dOptions): T {
  const shape = pooledShape(x, options);
  // Without a gradient to pass back, no Indices output: ORT runs a MaxPool that has one in a generic
  // kernel and leaves it out of its layout and QDQ fusions. ResNet-50's stem pool on 16x64x112x112,
  // int8 graph (2-core AMD EPYC, Zen 4): 48 ms of a 250 ms run with Indices, in float32 and NCHW
  // between two int8 convs; without it, ORT pools the uint8 tensor in place.
  if (!g.requiresGrad(x)) return g.emit1('MaxPool', [x], shape, attributes(options));
  const [y, indices] = g.emit('MaxPool', [x], [shape, shape], attributes(options), ['float32', 'int64']) as [T, T];
  g.record([x], [y], ([dy]) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    const zeros = g.emit1('ConstantOfShape', [g.constantInt64([size])], [size], { value: { tensor: { type: 'float32', shape: [1], values: [0] } } }, 'float32');
    const flatIndices = p.reshape(g, indices, [-1]);
    const scattered = g.emit1('ScatterElements', [zeros, flatIndices, p.reshape(g, dy!, [-1])], [size], { axis: 0, reduction: 'add' });
    return [p.reshape(g, scattered, x.shape)];
  });
  return y;
}

/** Average over each window, padding included in the count (PyTorch's default, MindSpore's 'valid' has none). */
export function avgPool2d(g: Graph, x: T, options: Pool2dOptions): T {
  const shape = pooledShape(x, options);
  const y = g.emit1('AveragePool', [x], shape, { ...attributes(options), count_include_pad: 1 });
  g.record([x], [y], ([dy]) => {
    const [, c, h, w] = x.shape as [number, number, number, number];
    const { kernel, stride, pads } = options;
    const [, , ho, wo] = shape as [number, number, number, number];
    // A grouped ConvTranspose with a constant 1/k^2 kernel spreads each dY over its window.
    const weight = g.constant(new Array(c * kernel * kernel).fill(1 / (kernel * kernel)), [c, 1, kernel, kernel]);
    const outputPadding = [h - ((ho - 1) * stride + kernel - pads[0] - pads[2]), w - ((wo - 1) * stride + kernel - pads[1] - pads[3])];
    return [g.emit1('ConvTranspose', [dy!, weight], x.shape, {
      kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pads[0], pads[1], pads[2], pads[3]], group: c, output_padding: outputPadding,
    })];
  });
  return y;
}

/** Global average pooling to [N, C]. */
export function globalAvgPool(g: Graph, x: T): T {
  return reduceMean(g, x, [2, 3], false);
}
