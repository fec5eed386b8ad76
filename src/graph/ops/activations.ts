/**
 * The activations of MobileNet, EfficientNet and ConvNeXt, each forward beside its backward,
 * with PyTorch's conventions at the kinks (the gradient of ReLU6 and Hardsigmoid is zero at
 * the clip points; Hardswish's is (2x + 3) / 6 on [-3, 3]).
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { clip } from './clip.js';
import { maskedGradient } from './elementwise.js';

type T = SymbolicTensor;

function inside(g: Graph, x: T, low: number, high: number): T {
  const above = p.greater(g, x, g.constant(low));
  const below = g.emit1('Less', [x, g.constant(high)], x.shape, {}, 'bool');
  return g.emit1('And', [above, below], x.shape, {}, 'bool');
}

/** min(max(x, 0), 6): Clip, whose gradient flows strictly inside (0, 6) as torch's hardtanh's. */
export function relu6(g: Graph, x: T): T {
  return clip(g, x, 0, 6);
}

/** relu6(x + 3) / 6, ONNX HardSigmoid with alpha 1/6 (PyTorch's; ONNX's default alpha is 0.2). */
export function hardsigmoid(g: Graph, x: T): T {
  const y = g.emit1('HardSigmoid', [x], x.shape, { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
  g.record([x], [y], ([dy]) => [maskedGradient(g, p.scale(g, dy!, 1 / 6), inside(g, x, -3, 3))]);
  return y;
}

/** x * relu6(x + 3) / 6 (ONNX HardSwish, opset 14). */
export function hardswish(g: Graph, x: T): T {
  const y = g.emit1('HardSwish', [x], x.shape);
  g.record([x], [y], ([dy]) => {
    // PyTorch: 0 below -3, dy * (x / 3 + 0.5) up to 3 inclusive, dy above. The zero below -3 is
    // maskedGradient's multiply, not a second Where (ORT's Where with a scalar is the slower one:
    // min of 40 runs of the backward, rough, load ~4: [8,16,112,112] 14.9 / 10.1 -> 5.8 / 6.4 ms).
    const ramp = p.mul(g, dy!, p.add(g, p.scale(g, x, 1 / 3), g.constant(0.5)));
    const notBelow = g.emit1('GreaterOrEqual', [x, g.constant(-3)], x.shape, {}, 'bool');
    return [maskedGradient(g, p.where(g, p.greater(g, x, g.constant(3)), dy!, ramp), notBelow)];
  });
  return y;
}

export function sigmoid(g: Graph, x: T): T {
  const y = p.unary(g, 'Sigmoid', x);
  g.record([x], [y], ([dy]) => [p.mul(g, dy!, p.mul(g, y, p.sub(g, g.constant(1), y)))]);
  return y;
}

/**
 * x * sigmoid(x) (Swish); d/dx = s * (1 + x * (1 - s)) = s + y * (1 - s), which reuses the
 * output and takes four full-size passes instead of five (dy * (s + y * (1 - s)); the other
 * four-pass forms measured alike, within the noise: min of 14 runs, 2 threads, shared machine at
 * load ~3.5, [8,144,56,56] 17.4 -> 13.4 ms, [8,672,14,14] 3.0 -> 2.0 ms with the forward).
 */
export function silu(g: Graph, x: T): T {
  const s = p.unary(g, 'Sigmoid', x);
  const y = p.mul(g, x, s);
  g.record([x], [y], ([dy]) => [p.mul(g, dy!, p.add(g, s, p.mul(g, y, p.sub(g, g.constant(1), s))))]);
  return y;
}

/**
 * GELU in its exact erf form, torchvision's default: x * Phi(x). Opset 17 has no Gelu op;
 * this is the pattern ORT fuses back into one. d/dx = Phi(x) + x * phi(x).
 */
export function gelu(g: Graph, x: T): T {
  const phi = p.scale(g, p.add(g, g.constant(1), p.unary(g, 'Erf', p.scale(g, x, Math.SQRT1_2))), 0.5);
  const y = p.mul(g, x, phi);
  g.record([x], [y], ([dy]) => {
    const density = p.scale(g, p.unary(g, 'Exp', p.scale(g, p.mul(g, x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [p.mul(g, dy!, p.add(g, phi, p.mul(g, x, density)))];
  });
  return y;
}
