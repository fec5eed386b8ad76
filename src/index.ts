/**
 * tlkit's public surface. Progressive disclosure: `fit`, the strategies and `runTransferStudy` for
 * the common cases; the graph, the runner, the data pipeline and the weight readers on their own.
 */
export * from './tensor.js';

// Graph and autodiff
export { Graph } from './graph/graph.js';
export type { SymbolicTensor, ElementType } from './graph/ir.js';
export { gradients } from './graph/autodiff.js';
export { serializeGraph, toModelProto, OPSET } from './graph/onnx.js';
export type { OptimizerConfig } from './graph/optim.js';
export * as ops from './graph/ops/index.js';

// Modules and models
export * from './nn/index.js';
export {
  ResNet, ResidualBlock, ResidualBlockBase, makeLayer, resnet18, resnet34, resnet50, resnet101, resnet152,
  type ResNetOptions, type BlockOptions,
} from './models/resnet.js';
export { createResNet, loadModel, MODEL_NAMES, type LoadModelOptions } from './models/registry.js';
export { modelFromWeights, type ModelFromWeightsOptions } from './models/factories.js';
export { PRETRAINED, getPretrained, resolvePretrained } from './models/pretrained.js';
export { importOnnx, analyzeOnnx, type ImportOnnxOptions } from './onnx-import/load.js';
export { ImportedModel, OnnxSegment, type Preprocessing } from './onnx-import/model.js';
export { loadNetwork, type LoadNetworkOptions, type TransferNetwork } from './onnx-import/network.js';
export { UntrainableNodeError } from './onnx-import/trainable.js';

// Runtime
export { Session, type SessionOptions } from './runtime/session.js';
export { useOrt, type OrtModule } from './runtime/ort.js';
export { InferenceRunner } from './runtime/inference.js';
export { TrainStep, type TrainStepOptions } from './runtime/train-step.js';
export { buildInferenceGraph, buildTrainingGraph } from './runtime/compile.js';
export { exportInferenceOnnx, type ExportOptions } from './transfer/export.js';

// Weights IO
export { readCheckpoint, writeCheckpoint, saveCheckpoint, parseCheckpoint, encodeCheckpoint, type CheckpointContents, type CheckpointEntry } from './io/ckpt.js';
export { readSafetensors, writeSafetensors, readShardedSafetensors, parseSafetensors, encodeSafetensors, type SafetensorsContents } from './io/safetensors.js';
export { readNpy, writeNpy } from './io/npy.js';
export { readWeights } from './io/weights.js';
export { loadParamIntoNet, type LoadParamsReport } from './io/load-params.js';
export { toCanonicalNames, fromCanonicalNames, detectConvention } from './io/names.js';
export { download } from './io/download.js';
export { extractZip } from './io/zip.js';

// Data
export * from './data/index.js';
export { fetchDataset } from './data/datasets-registry.js';
export { useImageBackend, type ImageBackend } from './data/image-backend.js';

// Training
export { fit, type FitOptions, type FitResult, type EpochRecord } from './train/fit.js';
export { evaluate, evaluateWithImages, type Evaluation, type EvaluateOptions } from './train/evaluate.js';
export { CallbackList, Checkpoints, EarlyStopping, NonFiniteGuard, ProgressBar, RunRecordWriter, DashboardUpdates, StopOnAbort, TutorialLog } from './train/callbacks/index.js';
export type { Callback, EpochEnd, TrainBatch, TrainingRun, StopRequest, EarlyStoppingOptions } from './train/callbacks/index.js';
export { Mixing, mixupBatch, cutmixBatch, type MixOptions } from './train/callbacks/mixing.js';
export { inferBatches, evaluateStream, collectOutputs, withRunner, type BatchRunner, type InputStream } from './train/infer.js';
export { TestTimeAugmentation, flipHorizontal } from './train/tta.js';
export { findLearningRate, valleySuggestion, type LrFindOptions, type LrFindResult } from './train/lr-finder.js';
export { balancedClassWeights } from './train/class-weights.js';
export { learningRateAt, type LrSchedule } from './train/schedules.js';
export { saveNetCheckpoint, readTrainingCheckpoint, netCheckpointEntries, trainingCheckpointFrom } from './train/checkpoint.js';
export { estimateTrainingMemory, InsufficientMemoryError } from './train/memory.js';

// Transfer
export { replaceHead, trainFixedFeature, fineTune } from './transfer/strategies.js';
export { extractFeatures } from './transfer/extract.js';
export { SoftmaxRegression } from './transfer/tensor-classifier.js';
export { KNearestNeighbours, NearestClassMean } from './transfer/neighbours.js';
export { rkdLoss, rkdExtraLoss, PAPER_RKD_WEIGHTS } from './transfer/rkd.js';
export { runTransferStudy, runPipeline, TARGET_METHODS, type StudyResult, type StudyDetails, type PipelineResult } from './transfer/pipeline.js';
export { copyWeights } from './transfer/weights.js';
export { targetTask, pipelineNet, transferredNet, batchSizeFor, PIPELINE_TASK, PIPELINE_MODEL, FIXED_FEATURE_RECIPE, type TargetTask } from './transfer/target-task.js';

// Reports
export * as report from './report/index.js';
