/** torchvision's small building blocks (ops.misc.Conv2dNormActivation, _make_divisible) shared by the mobile families. */
import { BatchNorm2d, type BatchNorm2dOptions } from '../nn/layers/batchnorm2d.js';
import { Conv2d } from '../nn/layers/conv2d.js';
import { Sequential } from '../nn/layers/sequential.js';
import type { Module } from '../nn/module.js';

/** torchvision's _make_divisible: the nearest multiple of `divisor`, never more than 10% below `value`. */
export function makeDivisible(value: number, divisor = 8, minValue?: number): number {
  const floor = minValue ?? divisor;
  let rounded = Math.max(floor, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

export interface ConvNormActivationOptions {
  stride?: number;
  groups?: number;
  norm?: BatchNorm2dOptions;
}

/**
 * Conv (no bias, symmetric padding (k - 1) / 2) -> BatchNorm -> activation, children 0, 1, 2 as in
 * torchvision, so the weights load as features.N.0.weight, features.N.1.running_mean.
 */
export function convNormActivation(inChannels: number, outChannels: number, kernel: number, activation: Module | null, options: ConvNormActivationOptions = {}): Sequential {
  const conv = new Conv2d(inChannels, outChannels, kernel, {
    stride: options.stride ?? 1, padMode: 'pad', padding: Math.floor((kernel - 1) / 2), groups: options.groups ?? 1,
    weightInit: { kind: 'he-normal', mode: 'fan-out' },
  });
  const norm = new BatchNorm2d(outChannels, options.norm);
  return activation ? new Sequential(conv, norm, activation) : new Sequential(conv, norm);
}
