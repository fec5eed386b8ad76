/**
 * Plain emitters for ONNX ops with their shape rules. They record nothing on the tape:
 * differentiable ops (the other files in this folder) build their forward and backward from these.
 */
import type { Graph } from '../graph.js';
import { broadcastShapes, type ElementType, type SymbolicTensor } from '../ir.js';

type T = SymbolicTensor;

const count = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

function binary(g: Graph, opType: string, a: T, b: T): T {
  const shape = broadcastShapes(a.shape, b.shape);
  // ORT broadcasts with the innermost dimension as its unit of work: a tensor ending in 1s (a 1x1
  // conv weight [co, ci, 1, 1]) combined with a scalar went element by element, 4-5x slower than
  // the same op on the flattened tensor. Such optimizer updates run flat and are reshaped back.
  const aScalar = count(a.shape) === 1;
  const bScalar = count(b.shape) === 1;
  if (shape.length > 1 && shape[shape.length - 1] === 1 && aScalar !== bScalar) {
    const flat = (t: T) => (count(t.shape) === 1 ? t : reshape(g, t, [count(t.shape)]));
    return reshape(g, g.emit1(opType, [flat(a), flat(b)], [count(shape)]), shape);
  }
  return g.emit1(opType, [a, b], shape);
}

export const add = (g: Graph, a: T, b: T): T => binary(g, 'Add', a, b);
export const sub = (g: Graph, a: T, b: T): T => binary(g, 'Sub', a, b);
export const mul = (g: Graph, a: T, b: T): T => binary(g, 'Mul', a, b);
export const div = (g: Graph, a: T, b: T): T => binary(g, 'Div', a, b);
export const greater = (g: Graph, a: T, b: T): T => g.emit1('Greater', [a, b], broadcastShapes(a.shape, b.shape), {}, 'bool');
export const unary = (g: Graph, opType: string, x: T): T => g.emit1(opType, [x], x.shape);
export const scale = (g: Graph, x: T, factor: number): T => (factor === 1 ? x : mul(g, x, g.constant(factor)));

export function where(g: Graph, condition: T, a: T, b: T): T {
  return g.emit1('Where', [condition, a, b], broadcastShapes(condition.shape, broadcastShapes(a.shape, b.shape)), {}, a.type);
}

export function cast(g: Graph, x: T, to: ElementType): T {
  const code = { float32: 1, int64: 7, bool: 9 }[to];
  return g.emit1('Cast', [x], x.shape, { to: code }, to);
}

export function reshape(g: Graph, x: T, shape: readonly number[]): T {
  if (shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i])) return x;
  const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const total = x.shape.reduce((p, d) => p * d, 1);
  const resolved = shape.map((d) => (d === -1 ? total / known : d));
  if (resolved.reduce((p, d) => p * d, 1) !== total) {
    throw new Error(`cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  return g.emit1('Reshape', [x, g.constantInt64(resolved)], resolved);
}

export function transpose(g: Graph, x: T, perm: readonly number[]): T {
  return g.emit1('Transpose', [x], perm.map((p) => x.shape[p]!), { perm: [...perm] });
}

function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

export function reduceSum(g: Graph, x: T, axes: readonly number[], keepDims = true): T {
  if (axes.length === 0) return x;
  return g.emit1('ReduceSum', [x, g.constantInt64(axes)], reducedShape(x.shape, axes, keepDims), { keepdims: keepDims ? 1 : 0 });
}

/** ReduceMean takes axes as an attribute until opset 18; the graphs here are opset 17. */
export function reduceMean(g: Graph, x: T, axes: readonly number[], keepDims = true): T {
  return g.emit1('ReduceMean', [x], reducedShape(x.shape, axes, keepDims), { axes: [...axes], keepdims: keepDims ? 1 : 0 });
}

export function matmul(g: Graph, a: T, b: T): T {
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (a.shape[a.shape.length - 1] !== b.shape[b.shape.length - 2]) {
    throw new Error(`MatMul: inner dimensions differ in [${a.shape.join(', ')}] x [${b.shape.join(', ')}]`);
  }
  return g.emit1('MatMul', [a, b], [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!]);
}

export function expand(g: Graph, x: T, shape: readonly number[]): T {
  return g.emit1('Expand', [x, g.constantInt64(shape)], broadcastShapes(x.shape, shape));
}

export function unsqueeze(g: Graph, x: T, axis: number): T {
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return g.emit1('Unsqueeze', [x, g.constantInt64([axis])], shape);
}

export function concat(g: Graph, parts: T[], axis: number): T {
  if (parts.length === 1) return parts[0]!;
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  return g.emit1('Concat', parts, shape, { axis });
}

/** Strided slice along several axes; `ends` are exclusive. */
export function slice(g: Graph, x: T, axes: number[], starts: number[], ends: number[], steps: number[]): T {
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    shape[axis] = Math.max(0, Math.ceil((ends[i]! - starts[i]!) / steps[i]!));
  });
  return g.emit1('Slice', [x, g.constantInt64(starts), g.constantInt64(ends), g.constantInt64(axes), g.constantInt64(steps)], shape);
}

/** Zero padding of two adjacent spatial axes (NCHW's 2 and 3 by default): [top, left, bottom, right]. */
export function pad2d(g: Graph, x: T, pads: readonly [number, number, number, number], axis = 2): T {
  const [top, left, bottom, right] = pads;
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return x;
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  [before[axis], before[axis + 1], after[axis], after[axis + 1]] = [top, left, bottom, right];
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  return g.emit1('Pad', [x, g.constantInt64([...before, ...after])], shape);
}

export function gather(g: Graph, x: T, indices: readonly number[], axis: number): T {
  const shape = [...x.shape];
  shape[axis] = indices.length;
  return g.emit1('Gather', [x, g.constantInt64(indices)], shape, { axis });
}

/** Sums a broadcast gradient back down to the shape of the operand it came from. */
export function sumToShape(g: Graph, grad: T, shape: readonly number[]): T {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const offset = grad.shape.length - shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < offset || (shape[i - offset] === 1 && d !== 1)) axes.push(i);
  });
  return reshape(g, reduceSum(g, grad, axes, true), shape);
}
