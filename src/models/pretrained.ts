import * as path from 'node:path';
import { download } from '../io/download.js';
import { NamedRegistry } from '../util/registry.js';

export type PretrainedFormat = 'ckpt' | 'safetensors';
export type PretrainedArchitecture = 'resnet18' | 'resnet34' | 'resnet50';

/** How images are prepared for these weights; mean/std are on the 0-255 pixel scale, as in the tutorial. */
export interface PretrainedPreprocessing {
  inputSize: number;
  /** Shorter side before the centre crop at evaluation (timm: floor(inputSize / crop_pct)). */
  resize: number;
  crop: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: 'bilinear' | 'bicubic';
}

export interface PretrainedEntry {
  name: string;
  architecture: PretrainedArchitecture;
  source: 'mindspore' | 'torchvision' | 'timm';
  url: string;
  /** File name when placed in a user-chosen folder (cache paths follow the URL instead). */
  filename: string;
  /** Published SHA-256 of the file, or null where none is published (then only length is checked). */
  sha256: string | null;
  format: PretrainedFormat;
  /** 'same': MindSpore's asymmetric same-padding for strided convs; 'pad': PyTorch's symmetric padding. */
  paddingMode: 'same' | 'pad';
  numClasses: number;
  preprocessing: PretrainedPreprocessing;
  license: string;
  description: string;
}

const IMAGENET_MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255] as const;
const IMAGENET_STD_255 = [0.229 * 255, 0.224 * 255, 0.225 * 255] as const;

/** The tutorial's eval pipeline: Resize(224 + 32), CenterCrop(224); torchvision's is the same (crop_pct 0.875). */
const RESIZE_256_CROP_224: PretrainedPreprocessing = {
  inputSize: 224,
  resize: 256,
  crop: 224,
  mean: IMAGENET_MEAN_255,
  std: IMAGENET_STD_255,
  interpolation: 'bilinear',
};

/** timm's ResNet strikes back (a1) recipe: crop_pct 0.95, bicubic (timm resnet.py `_rcfg`). */
const TIMM_A1: PretrainedPreprocessing = {
  ...RESIZE_256_CROP_224,
  resize: Math.floor(224 / 0.95),
  interpolation: 'bicubic',
};

function huggingFace(repo: string): string {
  return `https://huggingface.co/${repo}/resolve/main/model.safetensors`;
}

function torchvisionViaTimm(architecture: PretrainedArchitecture): PretrainedEntry {
  const repo = `timm/${architecture}.tv_in1k`;
  return {
    name: `${architecture}-torchvision`,
    architecture,
    source: 'torchvision',
    url: huggingFace(repo),
    filename: `${architecture}.tv_in1k.safetensors`,
    sha256: null,
    format: 'safetensors',
    paddingMode: 'pad',
    numClasses: 1000,
    preprocessing: RESIZE_256_CROP_224,
    license: 'BSD-3-Clause',
    description: `torchvision's original ImageNet-1k ${architecture} weights (IMAGENET1K_V1), as published in safetensors form by timm (${repo})`,
  };
}

function timmA1(architecture: PretrainedArchitecture): PretrainedEntry {
  const repo = `timm/${architecture}.a1_in1k`;
  return {
    name: `${architecture}-timm`,
    architecture,
    source: 'timm',
    url: huggingFace(repo),
    filename: `${architecture}.a1_in1k.safetensors`,
    sha256: null,
    format: 'safetensors',
    paddingMode: 'pad',
    numClasses: 1000,
    preprocessing: TIMM_A1,
    license: 'Apache-2.0',
    description: `timm's ${architecture} trained on ImageNet-1k with the "ResNet strikes back" A1 recipe (${repo})`,
  };
}

export const PRETRAINED: readonly PretrainedEntry[] = Object.freeze([
  {
    name: 'resnet50-mindspore',
    architecture: 'resnet50',
    source: 'mindspore',
    url: 'https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/models/application/resnet50_224_new.ckpt',
    filename: 'resnet50_224_new.ckpt',
    sha256: null,
    format: 'ckpt',
    paddingMode: 'same',
    numClasses: 1000,
    preprocessing: RESIZE_256_CROP_224,
    license: 'Apache-2.0',
    description: "MindSpore's ImageNet ResNet50 checkpoint used by the dogs-vs-wolves transfer learning tutorial",
  },
  torchvisionViaTimm('resnet18'),
  torchvisionViaTimm('resnet34'),
  torchvisionViaTimm('resnet50'),
  timmA1('resnet18'),
  timmA1('resnet50'),
]);

const registry = new NamedRegistry(PRETRAINED, 'pretrained weights');

export function pretrainedNames(): string[] {
  return registry.names();
}

export function findPretrained(name: string): PretrainedEntry | undefined {
  return registry.find(name);
}

export function getPretrained(name: string): PretrainedEntry {
  return registry.get(name);
}

export interface ResolvePretrainedOptions {
  /** Put the file in this folder as `<dir>/<entry.filename>` instead of the cache. */
  dir?: string;
  /** Fetch from here instead of the registry URL (a mirror); the cache is then keyed by this URL. */
  url?: string;
  /** Expected SHA-256 when the registry has none (or to pin a mirror's file). */
  sha256?: string | null;
  progress?: boolean;
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface ResolvedPretrained {
  path: string;
  entry: PretrainedEntry;
  sha256: string;
  downloaded: boolean;
}

/** Downloads the named weights (once: later calls find them in place) and returns where they are. */
export async function resolvePretrained(name: string, options: ResolvePretrainedOptions = {}): Promise<ResolvedPretrained> {
  const entry = getPretrained(name);
  const url = options.url ?? entry.url;
  const result = await download(url, {
    dest: options.dir === undefined ? undefined : path.join(options.dir, entry.filename),
    sha256: options.sha256 ?? entry.sha256,
    progress: options.progress,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    signal: options.signal,
  });
  return { path: result.path, entry, sha256: result.sha256, downloaded: result.downloaded };
}
