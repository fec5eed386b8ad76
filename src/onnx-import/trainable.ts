/**
 * The trainable part of an imported graph, node by node as tlkit's differentiable ops (each with
 * its backward rule in graph/ops), weights as the file's initializers turned into parameters.
 * Shape arithmetic (Shape, Gather, Concat of constants...) is evaluated here: training graphs
 * have a fixed batch, so every shape is known.
 */
import type { SymbolicTensor } from '../graph/ir.js';
import { conv2d, type Pads } from '../graph/ops/conv.js';
import { dense } from '../graph/ops/dense.js';
import { add, div, mul, relu, sub } from '../graph/ops/elementwise.js';
import { batchNormInference, batchNormTraining } from '../graph/ops/norm.js';
import { avgPool2d, maxPool2d } from '../graph/ops/pool.js';
import { flatten, matmul, reduceMean, reshape, transpose } from '../graph/ops/reduce.js';
import { clip } from '../graph/ops/clip.js';
import { concat } from '../graph/ops/concat.js';
import { parseOnnxTensor } from '../io/onnx-inspect.js';
import type { ForwardContext } from '../nn/context.js';
import type { Parameter } from '../nn/parameter.js';
import type { HostTensor } from '../tensor.js';
import { attribute, floatAttribute, intAttribute, intsAttribute, nodeLabel, type GraphView } from './analyze.js';
import { onnx, type NodeProto, type TensorProto } from './read.js';

type T = SymbolicTensor;

export interface TrainableScope {
  view: GraphView;
  ctx: ForwardContext;
  params: Map<string, Parameter>;
  /** BN layers of this part use batch statistics (and update their running averages). */
  bnTraining: boolean;
  /** What to tell the user when a node cannot be trained: the cut point after its segment. */
  keepFrozenHint: string;
}

/** Thrown for a node tlkit has no backward rule for; the message names it and how to keep it frozen. */
export class UntrainableNodeError extends Error {}

function hostOf(tensor: TensorProto, source: string): HostTensor {
  return parseOnnxTensor(onnx.TensorProto.encode(tensor).finish(), source);
}

export function emitTrainable(scope: TrainableScope, nodes: NodeProto[], inputName: string, x: T, outputName: string): T {
  const { view, ctx } = scope;
  const g = ctx.g;
  const values = new Map<string, T>([[inputName, x]]);
  /** Known host values: integer shape arithmetic and constant tensors. */
  const known = new Map<string, { shape: number[]; values: number[] }>();

  const fail = (node: NodeProto, why: string): never => {
    throw new UntrainableNodeError(`${view.source}: node ${nodeLabel(node)} (${node.opType}) cannot be trained: ${why}. Keep it frozen with ${scope.keepFrozenHint}`);
  };

  const constant = (name: string): { shape: number[]; values: number[] } | undefined => {
    const hit = known.get(name);
    if (hit) return hit;
    const init = view.initializers.get(name);
    let host: HostTensor | undefined;
    if (init) host = hostOf(init, view.source);
    else {
      const index = view.producer.get(name);
      const node = index === undefined ? undefined : view.nodes[index]!;
      if (node?.opType === 'Constant') {
        const t = attribute(node, 'value')?.t;
        if (t) host = hostOf(t, view.source);
      } else if (node && view.constants.has(name)) {
        evaluate(node);
        return known.get(name);
      }
    }
    if (!host) return undefined;
    const entry = { shape: [...host.shape], values: Array.from(host.data as ArrayLike<number | bigint>, Number) };
    known.set(name, entry);
    return entry;
  };

  const tensor = (node: NodeProto, name: string): T => {
    const value = values.get(name);
    if (value) return value;
    const parameter = scope.params.get(name);
    if (parameter) return ctx.parameter(parameter);
    const c = constant(name);
    if (c) return g.constant(c.values, c.shape);
    return fail(node, `its input '${name}' is not available`);
  };

  const ints = (node: NodeProto, name: string | undefined): number[] | undefined => {
    if (!name) return undefined;
    const c = constant(name);
    if (!c) fail(node, `'${name}' must be a constant or computed from shapes`);
    return c!.values;
  };

  const axesOf = (node: NodeProto, rank: number, inputIndex: number): number[] | undefined => {
    const axes = intsAttribute(node, 'axes') ?? ints(node, node.input?.[inputIndex]);
    return axes?.map((a) => (a < 0 ? a + rank : a));
  };

  /** Host evaluation of shape arithmetic; returns false when the node is not of that kind. */
  function evaluate(node: NodeProto): boolean {
    const inputs = node.input ?? [];
    const out = node.output![0]!;
    const set = (shape: number[], vals: number[]) => known.set(out, { shape, values: vals });
    const op = node.opType;
    if (op === 'Shape') {
      const source = values.get(inputs[0]!) ?? (constant(inputs[0]!) ? { shape: constant(inputs[0]!)!.shape } : undefined);
      if (!source) return false;
      const dims = [...source.shape];
      const start = intAttribute(node, 'start', 0);
      const end = attribute(node, 'end') ? intAttribute(node, 'end', dims.length) : dims.length;
      const picked = dims.slice(start < 0 ? start + dims.length : start, end < 0 ? end + dims.length : end);
      set([picked.length], picked);
      return true;
    }
    const args = inputs.map((name) => (name ? constant(name) : undefined));
    if (op === 'Constant') return constant(out) !== undefined;
    if (!args.every((a, i) => a !== undefined || !inputs[i])) return false;
    const a = args[0]!;
    switch (op) {
      case 'Gather': {
        const axis = intAttribute(node, 'axis', 0);
        if (a.shape.length !== 1 || axis !== 0) return false;
        const idx = args[1]!;
        set(idx.shape, idx.values.map((i) => a.values[i < 0 ? i + a.values.length : i]!));
        return true;
      }
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
      case 'Identity': {
        const rank = op === 'Unsqueeze' ? a.shape.length + (intsAttribute(node, 'axes') ?? args[1]?.values ?? []).length : a.shape.length;
        set(a.values.length === 1 && rank <= 1 ? [a.values.length] : a.shape, a.values);
        return true;
      }
      case 'Concat':
        set([args.reduce((n, t) => n + t!.values.length, 0)], args.flatMap((t) => t!.values));
        return true;
      case 'Mul':
      case 'Add':
      case 'Sub':
      case 'Div': {
        const b = args[1]!;
        const f = { Mul: (u: number, v: number) => u * v, Add: (u: number, v: number) => u + v, Sub: (u: number, v: number) => u - v, Div: (u: number, v: number) => Math.trunc(u / v) }[op];
        const n = Math.max(a.values.length, b.values.length);
        set(a.values.length >= b.values.length ? a.shape : b.shape, Array.from({ length: n }, (_, i) => f(a.values[a.values.length === 1 ? 0 : i]!, b.values[b.values.length === 1 ? 0 : i]!)));
        return true;
      }
      case 'Slice': {
        const starts = args[1]?.values ?? intsAttribute(node, 'starts') ?? [0];
        const ends = args[2]?.values ?? intsAttribute(node, 'ends') ?? [a.values.length];
        const clampIndex = (v: number) => Math.max(0, Math.min(a.values.length, v < 0 ? v + a.values.length : v));
        const picked = a.values.slice(clampIndex(starts[0]!), clampIndex(ends[0]!));
        set([picked.length], picked);
        return true;
      }
      case 'ConstantOfShape': {
        const fill = attribute(node, 'value')?.t;
        const v = fill ? Number(hostOf(fill, view.source).data[0] ?? 0) : 0;
        const count = a.values.reduce((m, d) => m * d, 1);
        set(a.values, new Array<number>(count).fill(v));
        return true;
      }
      default:
        return false;
    }
  }

  const resolveShape = (input: T, target: number[]): number[] => {
    const resolved = target.map((d, i) => (d === 0 ? input.shape[i]! : d));
    const unknown = resolved.indexOf(-1);
    if (unknown >= 0) {
      const total = input.shape.reduce((m, d) => m * d, 1);
      resolved[unknown] = total / resolved.reduce((m, d, i) => (i === unknown ? m : m * d), 1);
    }
    return resolved;
  };

  for (const node of nodes) {
    if ((node.output ?? []).every((o) => !o || view.constants.has(o))) continue;
    if (evaluate(node)) continue;
    const op = node.opType ?? '';
    const ins = node.input ?? [];
    const first = () => tensor(node, ins[0]!);
    let y: T;
    switch (op) {
      case 'Conv': {
        const xin = first();
        const w = tensor(node, ins[1]!);
        const group = intAttribute(node, 'group', 1);
        const dilations = intsAttribute(node, 'dilations') ?? [1, 1];
        const strides = intsAttribute(node, 'strides') ?? [1, 1];
        const autoPad = attribute(node, 'auto_pad')?.s;
        if (w.shape.length !== 4) fail(node, 'only 2-D convolutions are supported');
        if (group !== 1) fail(node, `grouped convolution (group ${group}) has no backward rule in tlkit yet`);
        if (dilations.some((d) => d !== 1)) fail(node, `dilation [${dilations.join(', ')}] has no backward rule in tlkit yet`);
        if (strides[0] !== strides[1]) fail(node, `unequal strides [${strides.join(', ')}] are not supported`);
        if (autoPad && autoPad.length > 0 && new TextDecoder().decode(autoPad) !== 'NOTSET') fail(node, `auto_pad ${new TextDecoder().decode(autoPad)} is not supported`);
        const pads = (intsAttribute(node, 'pads') ?? [0, 0, 0, 0]) as Pads;
        y = conv2d(g, xin, w, { stride: strides[0]!, pads });
        if (ins[2]) y = add(g, y, reshape(g, tensor(node, ins[2]), [1, w.shape[0]!, 1, 1]));
        break;
      }
      case 'BatchNormalization': {
        const xin = first();
        if (xin.shape.length !== 4) fail(node, `BatchNormalization of a rank-${xin.shape.length} input is not supported`);
        const [gamma, beta] = [tensor(node, ins[1]!), tensor(node, ins[2]!)];
        const meanParam = scope.params.get(ins[3]!);
        const varParam = scope.params.get(ins[4]!);
        const [mean, variance] = [tensor(node, ins[3]!), tensor(node, ins[4]!)];
        const eps = floatAttribute(node, 'epsilon', 1e-5);
        if (ctx.mode === 'train' && scope.bnTraining && meanParam && varParam) {
          const r = batchNormTraining(g, xin, gamma, beta, mean, variance, eps, floatAttribute(node, 'momentum', 0.9));
          ctx.updateStatistic(meanParam, r.newMovingMean);
          ctx.updateStatistic(varParam, r.newMovingVariance);
          y = r.y;
        } else {
          y = batchNormInference(g, xin, gamma, beta, mean, variance, eps);
        }
        break;
      }
      case 'Relu':
        y = relu(g, first());
        break;
      case 'Clip': {
        const low = ins[1] ? ints(node, ins[1])![0] : attribute(node, 'min') ? floatAttribute(node, 'min', 0) : undefined;
        const high = ins[2] ? ints(node, ins[2])![0] : attribute(node, 'max') ? floatAttribute(node, 'max', 0) : undefined;
        y = low === 0 && high === undefined ? relu(g, first()) : clip(g, first(), low, high);
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const f = { Add: add, Sub: sub, Mul: mul, Div: div }[op];
        y = f(g, tensor(node, ins[0]!), tensor(node, ins[1]!));
        break;
      }
      case 'Sum':
        y = ins.map((name) => tensor(node, name)).reduce((s, t) => add(g, s, t));
        break;
      case 'MaxPool':
      case 'AveragePool': {
        const kernel = intsAttribute(node, 'kernel_shape') ?? [1, 1];
        const strides = intsAttribute(node, 'strides') ?? [1, 1];
        const pads = (intsAttribute(node, 'pads') ?? [0, 0, 0, 0]) as Pads;
        if (kernel[0] !== kernel[1] || strides[0] !== strides[1]) fail(node, `non-square window ${kernel.join('x')} / strides ${strides.join('x')} is not supported`);
        if (intAttribute(node, 'ceil_mode', 0) !== 0) fail(node, 'ceil_mode 1 is not supported');
        if ((intsAttribute(node, 'dilations') ?? [1, 1]).some((d) => d !== 1)) fail(node, 'dilated pooling is not supported');
        if (op === 'MaxPool' && (node.output ?? []).length > 1 && node.output![1]) fail(node, 'the Indices output is not supported');
        const options = { kernel: kernel[0]!, stride: strides[0]!, pads };
        if (op === 'AveragePool' && pads.some((p) => p !== 0) && intAttribute(node, 'count_include_pad', 0) === 0) {
          fail(node, 'padded average pooling that excludes the padding from the count has no backward rule in tlkit yet');
        }
        y = op === 'MaxPool' ? maxPool2d(g, first(), options) : avgPool2d(g, first(), options);
        break;
      }
      case 'GlobalAveragePool':
        y = reduceMean(g, first(), [2, 3], true);
        break;
      case 'ReduceMean': {
        const xin = first();
        const axes = axesOf(node, xin.shape.length, 1) ?? xin.shape.map((_, i) => i);
        y = reduceMean(g, xin, axes, intAttribute(node, 'keepdims', 1) === 1);
        break;
      }
      case 'Flatten': {
        const xin = first();
        const axis = intAttribute(node, 'axis', 1);
        const a = axis < 0 ? axis + xin.shape.length : axis;
        y = a === 1 ? flatten(g, xin) : reshape(g, xin, [xin.shape.slice(0, a).reduce((m, d) => m * d, 1), xin.shape.slice(a).reduce((m, d) => m * d, 1)]);
        break;
      }
      case 'Reshape': {
        const xin = first();
        y = reshape(g, xin, resolveShape(xin, intsAttribute(node, 'shape') ?? ints(node, ins[1])!));
        break;
      }
      case 'Squeeze':
      case 'Unsqueeze': {
        const xin = first();
        const outRank = op === 'Unsqueeze' ? xin.shape.length + (intsAttribute(node, 'axes') ?? ints(node, ins[1]) ?? []).length : xin.shape.length;
        const axes = axesOf(node, op === 'Unsqueeze' ? outRank : xin.shape.length, 1);
        let shape: number[];
        if (op === 'Squeeze') shape = xin.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
        else {
          shape = [...xin.shape];
          for (const a of [...axes!].sort((u, v) => u - v)) shape.splice(a, 0, 1);
        }
        y = reshape(g, xin, shape);
        break;
      }
      case 'Transpose': {
        const xin = first();
        y = transpose(g, xin, intsAttribute(node, 'perm') ?? xin.shape.map((_, i) => xin.shape.length - 1 - i));
        break;
      }
      case 'Gemm': {
        const xin = first();
        let w = tensor(node, ins[1]!);
        const alpha = floatAttribute(node, 'alpha', 1);
        const beta = floatAttribute(node, 'beta', 1);
        if (intAttribute(node, 'transA', 0) !== 0) fail(node, 'transA is not supported');
        if (intAttribute(node, 'transB', 0) === 0) w = transpose(g, w, [1, 0]);
        let bias = ins[2] ? tensor(node, ins[2]) : null;
        if (bias && bias.shape.length !== 1) bias = reshape(g, bias, [bias.shape.reduce((m, d) => m * d, 1)]);
        if (alpha !== 1 || beta !== 1) {
          y = mul(g, dense(g, xin, w, null), g.constant(alpha));
          if (bias) y = add(g, y, beta === 1 ? bias : mul(g, bias, g.constant(beta)));
        } else {
          y = dense(g, xin, w, bias);
        }
        break;
      }
      case 'MatMul':
        y = matmul(g, tensor(node, ins[0]!), tensor(node, ins[1]!));
        break;
      case 'Concat':
        y = concat(g, ins.map((name) => tensor(node, name)), intAttribute(node, 'axis', 0));
        break;
      case 'Identity':
      case 'Dropout':
        y = first();
        break;
      default:
        return fail(node, `tlkit has no backward rule for ${op}`);
    }
    values.set(node.output![0]!, y);
  }
  const out = values.get(outputName);
  if (!out) throw new Error(`${view.source}: no node of this segment computes '${outputName}'`);
  return out;
}
