import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { OPSET } from '../src/graph/onnx.js';
import type { OptimizerConfig } from '../src/graph/optim.js';
import { createModel, MODEL_NAMES, type ModelOptions } from '../src/models/factories.js';
import type { ImageClassifier } from '../src/models/classifier.js';
import { buildInferenceGraph, buildTrainingGraph } from '../src/runtime/compile.js';
import { firstTrainableStage, stagesOf } from '../src/runtime/stages.js';
import type { Graph } from '../src/graph/graph.js';
import { importBundle } from './helpers/browser-bundle.js';

// Session creation is what proves a kernel exists; the optimizing tier of V8 would only cost time here.
v8.setFlagsFromString('--liftoff-only');

interface Built {
  what: string;
  graph: Graph;
  nodes: number;
  ops: Set<string>;
}

/** layer4 for ResNet, the last features.N for the other families. */
function lastStage(net: ImageClassifier): string {
  if (net.headName === 'fc') return 'layer4';
  const stages = net.stages().map(([name]) => name).filter((name) => name.startsWith('features.'));
  return stages[stages.length - 1]!.split('.').slice(0, 2).join('.');
}

type Strategy = { name: string; prepare(net: ImageClassifier): void; bnTraining: boolean };

const STRATEGIES: Strategy[] = [
  { name: 'full fine-tune', prepare: (net) => net.train(true), bnTraining: true },
  { name: 'fine-tune, BN frozen', prepare: (net) => net.eval(), bnTraining: false },
  { name: 'from the last stage', prepare: (net) => { net.freeze(); net.unfreeze(lastStage(net), net.headName); net.train(true); }, bnTraining: true },
  { name: 'fixed features', prepare: (net) => { net.freeze(); net.unfreeze(net.headName); net.eval(); }, bnTraining: false },
];

const OPTIMIZERS: Array<{ optimizer: OptimizerConfig; labelSmoothing?: number }> = [
  { optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 5e-4 } },
  { optimizer: { kind: 'adam', weightDecay: 1e-4 }, labelSmoothing: 0.1 },
];

/** The graphs TrainStep builds for a strategy: the frozen prefix as an inference graph, the rest as one training step. */
function graphsOf(net: ImageClassifier, name: string, inputShape: number[], strategy: Strategy, opt: (typeof OPTIMIZERS)[number]): Built[] {
  net.unfreeze();
  strategy.prepare(net);
  const stages = stagesOf(net);
  const split = firstTrainableStage(stages, strategy.bnTraining);
  const out: Built[] = [];
  const label = `${name} [${inputShape.join('x')}] ${strategy.name}, ${opt.optimizer.kind}`;
  let suffixShape = inputShape;
  if (split > 0) {
    const prefix = buildInferenceGraph(stages.slice(0, split), inputShape);
    suffixShape = prefix.outputs[0]!.value.shape.slice(1);
    out.push(describe(`${label}: frozen prefix`, prefix));
  }
  const { graph } = buildTrainingGraph(stages.slice(split), { batchSize: 2, inputShape: suffixShape, bnTraining: strategy.bnTraining, ...opt });
  out.push(describe(`${label}: training step`, graph));
  return out;
}

function describe(what: string, graph: Graph): Built {
  const ops = new Set<string>();
  for (const node of graph.nodes) ops.add(node.domain ? `${node.domain}::${node.opType}` : node.opType);
  for (const opset of graph.opsetImports ?? [{ domain: '', version: OPSET }]) {
    assert.ok(!opset.domain || opset.domain === 'ai.onnx', `${what}: imports opset domain ${opset.domain}`);
    assert.equal(opset.version, OPSET, `${what}: opset ${opset.version}`);
  }
  return { what, graph, nodes: graph.nodes.length, ops };
}

test('every training graph tlkit emits uses only standard ONNX ops, and onnxruntime-web loads a graph with each of them', { timeout: 300_000 }, async () => {
  const started = performance.now();
  const built: Built[] = [];
  const inputs: Array<[string, ModelOptions, number[]]> = [
    ...MODEL_NAMES.map((name): [string, ModelOptions, number[]] => [name, {}, [3, 224, 224]]),
    ['resnet18', { inChannels: 1, width: 16, smallInput: true }, [1, 28, 28]], // the demo's and the pipeline's model
    ['resnet50', { inChannels: 1, width: 16, smallInput: true }, [1, 28, 28]],
  ];
  for (const [name, options, shape] of inputs) {
    const net = createModel(name, { numClasses: 5, ...options });
    net.parameters();
    for (const strategy of STRATEGIES) for (const opt of OPTIMIZERS) built.push(...graphsOf(net, name, shape, strategy, opt));
  }
  assert.ok(built.length >= MODEL_NAMES.length * STRATEGIES.length * OPTIMIZERS.length);
  const builtAt = performance.now();

  for (const { what, ops } of built) {
    const custom = [...ops].filter((op) => op.includes('::'));
    assert.deepEqual(custom, [], `${what} uses ops outside the ONNX standard (onnxruntime-web may not have them; keep a standard formulation for the browser)`);
  }

  // Kernels are proven by onnxruntime-web itself: for each op, the smallest graph that uses it is loaded
  // (session creation fails on any op the wasm build has no kernel for).
  const web = await importBundle();
  const uncovered = new Set(built.flatMap((b) => [...b.ops]));
  const loaded: string[] = [];
  for (const candidate of [...built].sort((a, b) => a.nodes - b.nodes)) {
    if (![...candidate.ops].some((op) => uncovered.has(op))) continue;
    const session = await web.Session.create(web.serializeGraph(candidate.graph as never), { threads: 1 }).catch((error: Error) => {
      throw new Error(`onnxruntime-web cannot load ${candidate.what}: ${error.message}`);
    });
    await session.release();
    for (const op of candidate.ops) uncovered.delete(op);
    loaded.push(`${candidate.what} (${candidate.nodes} nodes)`);
  }
  assert.equal(uncovered.size, 0);
  console.log(`built ${built.length} graphs in ${Math.round(builtAt - started)} ms; loaded in onnxruntime-web (${Math.round(performance.now() - builtAt)} ms): ${loaded.join('; ')}`);
  assert.ok(loaded.length >= 1, 'at least one graph went through onnxruntime-web');
});
