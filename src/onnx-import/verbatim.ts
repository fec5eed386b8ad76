/**
 * Frozen parts of an imported graph go into tlkit's graph node for node, as the file has them
 * (attributes copied raw, the file's opsets kept): ORT then runs exactly what the file says, with
 * the weights as constants it can fold.
 */
import type { Graph } from '../graph/graph.js';
import type { GraphNode, SymbolicTensor } from '../graph/ir.js';
import type { ForwardContext } from '../nn/context.js';
import type { Parameter } from '../nn/parameter.js';
import type { GraphView } from './analyze.js';
import { onnx, type NodeProto } from './read.js';

/** Per graph under construction: file tensor name -> the name it got there (constants are emitted once). */
const emittedConstants = new WeakMap<Graph, Map<string, string>>();

function constantsOf(g: Graph): Map<string, string> {
  let map = emittedConstants.get(g);
  if (!map) {
    map = new Map();
    emittedConstants.set(g, map);
  }
  return map;
}

/** The file's opsets become the graph's (tlkit's own ops in the same graph are valid across these versions). */
export function adoptOpsets(g: Graph, view: GraphView): void {
  const imports = (view.model.opsetImport ?? []).map((o) => ({ domain: o.domain === 'ai.onnx' ? '' : o.domain ?? '', version: Number(o.version ?? 1) }));
  if (!imports.some((o) => o.domain === '')) imports.push({ domain: '', version: view.opset });
  g.opsetImports = imports;
}

export interface VerbatimScope {
  view: GraphView;
  ctx: ForwardContext;
  params: Map<string, Parameter>;
}

/** The graph's name for a constant of the file (an initializer or a constant node's output), emitting it on first use. */
function constantName(scope: VerbatimScope, name: string): string {
  const { view, ctx } = scope;
  const g = ctx.g;
  const done = constantsOf(g);
  const known = done.get(name);
  if (known) return known;
  const parameter = scope.params.get(name);
  if (parameter) {
    const value = ctx.parameter(parameter);
    done.set(name, value.name);
    return value.name;
  }
  const init = view.initializers.get(name);
  if (init) {
    const claimed = g.claimName(name);
    g.nodes.push({ opType: 'Constant', inputs: [], outputs: [claimed], attributes: { value: { raw: onnx.AttributeProto.create({ type: onnx.AttributeProto.AttributeType.TENSOR, t: { ...init, name: '' } }) } } });
    done.set(name, claimed);
    return claimed;
  }
  const index = view.producer.get(name);
  if (index === undefined) throw new Error(`${view.source}: constant '${name}' has no producer`);
  emitNode(scope, view.nodes[index]!, new Map(), (n) => constantName(scope, n));
  return done.get(name)!;
}

function emitNode(scope: VerbatimScope, node: NodeProto, local: Map<string, string>, resolve: (name: string) => string): void {
  const g = scope.ctx.g;
  const isConstant = (node.output ?? []).every((o) => scope.view.constants.has(o));
  const inputs = (node.input ?? []).map((name) => (!name ? '' : local.get(name) ?? resolve(name)));
  const outputs = (node.output ?? []).map((name) => {
    if (!name) return '';
    const claimed = g.claimName(name);
    if (isConstant) constantsOf(g).set(name, claimed);
    else local.set(name, claimed);
    return claimed;
  });
  const attributes: GraphNode['attributes'] = Object.fromEntries((node.attribute ?? []).map((a) => [a.name ?? '', { raw: a }]));
  g.nodes.push({ opType: node.opType ?? '', inputs, outputs, attributes, domain: node.domain || undefined, name: node.name ? `import/${node.name}` : undefined });
}

/**
 * Emits `nodes` (a segment between two cut points) reading `inputName` as `x`; returns the
 * value named `outputName`, of `outputShape` with x's batch.
 */
export function emitVerbatim(scope: VerbatimScope, nodes: NodeProto[], inputName: string, x: SymbolicTensor, outputName: string, outputShape: readonly number[]): SymbolicTensor {
  adoptOpsets(scope.ctx.g, scope.view);
  const local = new Map<string, string>([[inputName, x.name]]);
  const resolve = (name: string) => {
    if (scope.view.constants.has(name)) return constantName(scope, name);
    throw new Error(`${scope.view.source}: '${name}' is read across a cut point`);
  };
  for (const node of nodes) {
    if ((node.output ?? []).every((o) => !o || scope.view.constants.has(o))) continue;
    emitNode(scope, node, local, resolve);
  }
  const name = local.get(outputName);
  if (!name) throw new Error(`${scope.view.source}: no node of this segment computes '${outputName}'`);
  return { name, shape: [x.shape[0]!, ...outputShape.slice(1)], type: 'float32' };
}
