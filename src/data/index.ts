/** The public surface of tlkit's data layer. */
export { parseIdx, readIdx, encodeIdx } from './idx.js';
export type { IdxArray, IdxData, IdxDType } from './idx.js';
export { InMemoryDataset, DatasetView, isSourceDataset, describeSource } from './dataset.js';
export type { Dataset, SourceDataset, Sample, ImageSource, InMemoryImages } from './dataset.js';
export { loadFashionMnist, findFashionMnistFiles, shippedFashionMnistDir, FASHION_MNIST_CLASSES, SYSTEM_FASHION_MNIST_DIR } from './fashion-mnist.js';
export type { FashionMnistOptions, FashionMnistSplit } from './fashion-mnist.js';
export { ImageFolder, IMAGE_EXTENSIONS } from './image-folder.js';
export type { ImageFolderOptions, ImageFolderSample, ImageFolderWarning } from './image-folder.js';
export { splitByClass, fewShotSplit, trainValSplit, indicesByClass } from './splits.js';
export {
  Decode, RandomCropDecodeResize, Resize, CenterCrop, Crop, RandomHorizontalFlip, Normalize, HWC2CHW,
  trainTransforms, evalTransforms, compose, applyTransform, Pipeline, IMAGENET_MEAN_255, IMAGENET_STD_255,
} from './transforms.js';
export type { TransformStep, TransformOutput, PipelineOptions } from './transforms.js';
export type { Interpolation } from './pil-resample.js';
export { randomResizedCropBox, centerCropBox, shorterSideSize, roundHalfEven } from './crop-geometry.js';
export type { CropBox } from './crop-geometry.js';
export { BadDataError, DEFAULT_PIXEL_LIMIT, ImageDecodeError, SkippedFiles } from './bad-images.js';
export type { SkipKind, SkippedFile } from './bad-images.js';
export { checkImageFile } from './image-check.js';
export type { ImageCheck, ImageCheckOptions } from './image-check.js';
export { verifyImages } from './verify.js';
export { differenceHash, hashDistance, hashImages, nearDuplicatesAcross } from './near-duplicates.js';
export type { ImageHash, NearDuplicate } from './near-duplicates.js';
export type { VerifyOptions, VerifyResult } from './verify.js';
export { DataLoader, defaultConcurrency } from './loader.js';
export { DecodedCache } from './decoded-cache.js';
export type { Batch, LoaderOptions } from './loader.js';
export { mulberry32, mixSeed } from './random.js';
export type { Random } from './random.js';
