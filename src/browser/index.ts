/**
 * tlkit in a web page (`tlkit/browser`, bundled to dist/browser/tlkit.mjs): everything that needs
 * no file system, with the names and signatures of the Node entry (src/index.ts), running on
 * onnxruntime-web. Weights and checkpoints are bytes (parse/encode); images come from canvas or
 * ImageBitmap through the same transforms.
 */
import { installBrowserPlatform } from './platform.js';

export { browserThreads, threadsAvailable, WASM_MEMORY_BYTES } from './platform.js';

installBrowserPlatform();

export * from '../tensor.js';

// Graph and autodiff
export { Graph } from '../graph/graph.js';
export type { SymbolicTensor, ElementType } from '../graph/ir.js';
export { gradients } from '../graph/autodiff.js';
export { serializeGraph, toModelProto, OPSET } from '../graph/onnx.js';
export type { OptimizerConfig } from '../graph/optim.js';
export * as ops from '../graph/ops/index.js';

// Modules and models
export * from '../nn/index.js';
export {
  ResNet, ResidualBlock, ResidualBlockBase, makeLayer, resnet18, resnet34, resnet50, resnet101, resnet152,
  type ResNetOptions, type BlockOptions,
} from '../models/resnet.js';
export { createResNet, modelFromWeights, MODEL_NAMES, type ModelFromWeightsOptions } from '../models/factories.js';

// Runtime
export { Session, type SessionOptions } from '../runtime/session.js';
export { useOrt, type OrtModule } from '../runtime/ort.js';
export { InferenceRunner } from '../runtime/inference.js';
export { TrainStep, type TrainStepOptions } from '../runtime/train-step.js';
export { buildInferenceGraph, buildTrainingGraph } from '../runtime/compile.js';
export { exportInferenceOnnx, type ExportOptions } from '../transfer/export.js';

// Weights as bytes
export { parseCheckpoint, encodeCheckpoint, type CheckpointContents, type CheckpointEntry } from '../io/ckpt-format.js';
export { parseSafetensors, encodeSafetensors, type SafetensorsContents } from '../io/safetensors-format.js';
export { loadParamIntoNet, type LoadParamsReport } from '../io/load-params.js';
export { toCanonicalNames, fromCanonicalNames, detectConvention } from '../io/names.js';

// Data
export { InMemoryDataset, DatasetView, isSourceDataset, describeSource } from '../data/dataset.js';
export type { Dataset, SourceDataset, Sample, ImageSource, InMemoryImages } from '../data/dataset.js';
export { splitByClass, fewShotSplit, trainValSplit, indicesByClass } from '../data/splits.js';
export {
  Decode, RandomCropDecodeResize, Resize, CenterCrop, Crop, RandomHorizontalFlip, Normalize, HWC2CHW,
  trainTransforms, evalTransforms, compose, applyTransform, Pipeline, IMAGENET_MEAN_255, IMAGENET_STD_255,
} from '../data/transforms.js';
export type { TransformStep, TransformOutput, PipelineOptions } from '../data/transforms.js';
export { randomResizedCropBox, centerCropBox, shorterSideSize, roundHalfEven } from '../data/crop-geometry.js';
export type { CropBox } from '../data/crop-geometry.js';
export { DataLoader, defaultConcurrency } from '../data/loader.js';
export type { Batch, LoaderOptions } from '../data/loader.js';
export { mulberry32, mixSeed } from '../data/random.js';
export { parseIdx, encodeIdx, type IdxArray } from '../data/idx-format.js';
export type { Random } from '../data/random.js';
export { useImageBackend, type ImageBackend } from '../data/image-backend.js';
export { pixelsFromImage, canvasImageBackend } from './canvas-images.js';

// Training
export { fit, type FitOptions, type FitResult, type EpochRecord } from '../train/fit.js';
export { evaluate, type Evaluation } from '../train/evaluate.js';
export { learningRateAt, type LrSchedule } from '../train/schedules.js';
export { netCheckpointEntries, trainingCheckpointFrom } from '../train/checkpoint-entries.js';
export { estimateTrainingMemory, InsufficientMemoryError } from '../train/memory.js';

// Transfer
export { replaceHead, trainFixedFeature, fineTune } from '../transfer/strategies.js';
export { extractFeatures } from '../transfer/extract.js';
export { SoftmaxRegression } from '../transfer/tensor-classifier.js';
export { KNearestNeighbours, NearestClassMean } from '../transfer/neighbours.js';
export { rkdLoss, rkdExtraLoss, PAPER_RKD_WEIGHTS } from '../transfer/rkd.js';
export { copyWeights } from '../transfer/weights.js';
export { targetTask, pipelineNet, transferredNet, batchSizeFor, PIPELINE_TASK, PIPELINE_MODEL, FIXED_FEATURE_RECIPE, type TargetTask, type PipelineModel } from '../transfer/target-task.js';
