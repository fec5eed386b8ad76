import * as path from 'node:path';
import { download } from '../io/download.js';
import { NamedRegistry } from '../util/registry.js';

export type PretrainedFormat = 'ckpt' | 'safetensors';
export type PretrainedArchitecture =
  | 'resnet18' | 'resnet34' | 'resnet50'
  | 'mobilenet_v2' | 'mobilenet_v3_large' | 'mobilenet_v3_small'
  | 'efficientnet_b0' | 'efficientnet_b1' | 'efficientnet_b2' | 'efficientnet_b3' | 'convnext_tiny';

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

/** timm's pretrained_cfg as preprocessing: eval resize floor(size / crop_pct), centre crop `size`, mean/std on the 0-255 scale. */
export function timmPreprocessing(size: number, cropPct: number, interpolation: 'bilinear' | 'bicubic', mean: readonly number[] = [0.485, 0.456, 0.406], std: readonly number[] = [0.229, 0.224, 0.225]): PretrainedPreprocessing {
  const scale = (v: readonly number[]) => [v[0]! * 255, v[1]! * 255, v[2]! * 255] as const;
  return { inputSize: size, resize: Math.floor(size / cropPct), crop: size, mean: scale(mean), std: scale(std), interpolation };
}

/**
 * The `pretrained_cfg` of a timm HF repository's config.json as preprocessing (input_size,
 * crop_pct, interpolation, mean, std); throws naming the file and the field that is missing.
 */
export function preprocessingFromTimmConfig(text: string, source = 'config.json'): PretrainedPreprocessing {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  const cfg = (json as { pretrained_cfg?: Record<string, unknown> }).pretrained_cfg;
  if (!cfg || typeof cfg !== 'object') throw new Error(`${source}: no pretrained_cfg object`);
  const inputSize = cfg.input_size;
  if (!Array.isArray(inputSize) || inputSize.length !== 3 || inputSize[1] !== inputSize[2] || typeof inputSize[1] !== 'number') {
    throw new Error(`${source}: pretrained_cfg.input_size must be [3, size, size], got ${JSON.stringify(inputSize)}`);
  }
  const cropPct = typeof cfg.crop_pct === 'number' ? cfg.crop_pct : 0.875;
  const interpolation = cfg.interpolation === 'bilinear' ? 'bilinear' : 'bicubic';
  const triple = (name: string) => {
    const v = cfg[name];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) throw new Error(`${source}: pretrained_cfg.${name} must be three numbers, got ${JSON.stringify(v)}`);
    return v as number[];
  };
  return timmPreprocessing(inputSize[1] as number, cropPct, interpolation, triple('mean'), triple('std'));
}

/** timm's HF repositories for the zoo families, with their pretrained_cfg as timm's sources give it. */
function timmZoo(architecture: PretrainedArchitecture, tag: string, preprocessing: PretrainedPreprocessing, description: string): PretrainedEntry {
  const timmName = { mobilenet_v2: 'mobilenetv2_100', mobilenet_v3_large: 'mobilenetv3_large_100', mobilenet_v3_small: 'mobilenetv3_small_100' }[architecture as string] ?? architecture;
  const repo = `timm/${timmName}.${tag}`;
  return {
    name: `${architecture}-timm`,
    architecture,
    source: 'timm',
    url: huggingFace(repo),
    filename: `${timmName}.${tag}.safetensors`,
    sha256: null,
    format: 'safetensors',
    paddingMode: 'pad',
    numClasses: 1000,
    preprocessing,
    license: 'Apache-2.0',
    description: `${description} (${repo}; timm names, mapped onto torchvision's on load)`,
  };
}

/** Where a timm HF repository's config.json (with its pretrained_cfg) lives, beside model.safetensors. */
export function configUrlOf(entry: PretrainedEntry): string | undefined {
  return entry.source === 'timm' && entry.url.endsWith('/model.safetensors') ? entry.url.replace(/model\.safetensors$/, 'config.json') : undefined;
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
  timmZoo('mobilenet_v3_large', 'ra_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "timm's MobileNetV3-Large 1.0 trained on ImageNet-1k with RandAugment"),
  timmZoo('mobilenet_v3_small', 'lamb_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "timm's MobileNetV3-Small 1.0 trained on ImageNet-1k with LAMB"),
  timmZoo('mobilenet_v2', 'ra_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "timm's MobileNetV2 1.0 trained on ImageNet-1k with RandAugment"),
  timmZoo('efficientnet_b0', 'ra_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "timm's EfficientNet-B0 trained on ImageNet-1k with RandAugment"),
  timmZoo('efficientnet_b1', 'ft_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "timm's EfficientNet-B1 fine-tuned on ImageNet-1k"),
  timmZoo('efficientnet_b2', 'ra_in1k', timmPreprocessing(256, 1.0, 'bicubic'), "timm's EfficientNet-B2 trained on ImageNet-1k with RandAugment"),
  timmZoo('efficientnet_b3', 'ra2_in1k', timmPreprocessing(288, 1.0, 'bicubic'), "timm's EfficientNet-B3 trained on ImageNet-1k with RandAugment 2"),
  timmZoo('convnext_tiny', 'fb_in1k', timmPreprocessing(224, 0.875, 'bicubic'), "Facebook's ConvNeXt-T trained on ImageNet-1k"),
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
