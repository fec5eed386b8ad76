/** Registry entries for the zoo's published timm weights, and eval preprocessing from a timm config.json's pretrained_cfg. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '../src/io/safetensors.js';
import { configUrlOf, getPretrained, preprocessingFromTimmConfig } from '../src/models/pretrained.js';
import { createModel, loadModel, torchvisionLayout } from '../src/models/registry.js';
import { imageSizeOf, interpolationOf, normalizationOf, resizeOf } from '../src/onnx-import/network.js';
import { compose, evalTransforms } from '../src/data/transforms.js';
import { canonicalNameToTorch } from '../src/io/names.js';

test('every zoo model has a timm registry entry with its pretrained_cfg preprocessing', () => {
  const expected: Record<string, [string, number, number]> = {
    mobilenet_v3_large: ['timm/mobilenetv3_large_100.ra_in1k', 224, 256],
    mobilenet_v3_small: ['timm/mobilenetv3_small_100.lamb_in1k', 224, 256],
    mobilenet_v2: ['timm/mobilenetv2_100.ra_in1k', 224, 256],
    efficientnet_b0: ['timm/efficientnet_b0.ra_in1k', 224, 256],
    efficientnet_b1: ['timm/efficientnet_b1.ft_in1k', 224, 256],
    efficientnet_b2: ['timm/efficientnet_b2.ra_in1k', 256, 256],
    efficientnet_b3: ['timm/efficientnet_b3.ra2_in1k', 288, 288],
    convnext_tiny: ['timm/convnext_tiny.fb_in1k', 224, 256],
  };
  for (const [model, [repo, crop, resize]] of Object.entries(expected)) {
    const entry = getPretrained(`${model}-timm`);
    assert.equal(entry.architecture, model);
    assert.equal(entry.url, `https://huggingface.co/${repo}/resolve/main/model.safetensors`);
    assert.equal(configUrlOf(entry), `https://huggingface.co/${repo}/resolve/main/config.json`);
    assert.equal(entry.preprocessing.crop, crop, model);
    assert.equal(entry.preprocessing.resize, resize, model);
    assert.equal(entry.preprocessing.interpolation, 'bicubic');
  }
});

const CONFIG = {
  architecture: 'mobilenetv3_small_100',
  num_classes: 1000,
  pretrained_cfg: { input_size: [3, 192, 192], crop_pct: 0.95, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
};

test("a timm config.json's pretrained_cfg becomes the eval preprocessing; bad configs name the field", () => {
  const p = preprocessingFromTimmConfig(JSON.stringify(CONFIG));
  assert.deepEqual(p, { inputSize: 192, resize: 202, crop: 192, mean: [127.5, 127.5, 127.5], std: [63.75, 63.75, 63.75], interpolation: 'bilinear' });
  assert.throws(() => preprocessingFromTimmConfig('{', 'x/config.json'), /x\/config\.json: not JSON/);
  assert.throws(() => preprocessingFromTimmConfig('{}', 'x/config.json'), /x\/config\.json: no pretrained_cfg/);
  assert.throws(() => preprocessingFromTimmConfig(JSON.stringify({ pretrained_cfg: { ...CONFIG.pretrained_cfg, mean: [1, 2] } }), 'c.json'), /c\.json: pretrained_cfg\.mean must be three numbers/);
});

test('model.safetensors with a config.json beside it (a timm HF download): the eval transforms follow its config', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-zoo-cfg-'));
  try {
    const net = createModel('mobilenet_v3_small', { weightInit: { kind: 'constant', value: 0.01 } });
    const names = torchvisionLayout(net).map((t) => t.name);
    const tensors = new Map(net.parameters().map((p, i) => [names[i]!, { dtype: 'float32' as const, shape: [...p.shape], data: Float32Array.from(p.data) }]));
    assert.equal(canonicalNameToTorch(net.parameters()[0]!.name), names[0]);
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
    const { net: loaded } = await loadModel('mobilenet_v3_small', { weights: path.join(dir, 'model.safetensors') });
    assert.equal(imageSizeOf(loaded, undefined), 192);
    assert.equal(resizeOf(loaded, 192), 202);
    assert.equal(resizeOf(loaded, 160), 192, 'another size: the default resize (size + 32)');
    assert.deepEqual(normalizationOf(loaded), { mean: [127.5, 127.5, 127.5], std: [63.75, 63.75, 63.75] });
    const { net: plain } = await loadModel('mobilenet_v3_small', {});
    assert.equal(imageSizeOf(plain, undefined), 224);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const DATA_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'data');

/** Mean |level difference| and the max against a torchvision uint8 HWC reference, after undoing the normalization. */
function levelError(chw: Float32Array, hwc: Uint8Array, mean: number[], std: number[]): { max: number; mean: number } {
  const plane = hwc.length / 3;
  let max = 0;
  let sum = 0;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const error = Math.abs(chw[c * plane + p]! * std[c]! + mean[c]! - hwc[p * 3 + c]!);
      max = Math.max(max, error);
      sum += error;
    }
  }
  return { max, mean: sum / (plane * 3) };
}

test("config.json's interpolation drives the eval resize: bicubic matches torchvision's BICUBIC, bilinear stays the default", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-zoo-interp-'));
  try {
    const net = createModel('mobilenet_v3_small', { weightInit: { kind: 'constant', value: 0.01 } });
    const names = torchvisionLayout(net).map((t) => t.name);
    const tensors = new Map(net.parameters().map((p, i) => [names[i]!, { dtype: 'float32' as const, shape: [...p.shape], data: Float32Array.from(p.data) }]));
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    // 112 / 0.7777 -> resize 144, the fixture's Resize(144) + CenterCrop(112) (tools/make-transform-reference.py).
    const image = { kind: 'file' as const, path: path.join(DATA_FIXTURES, 'transform-input.jpg') };
    const evalTensor = async (interpolation: string) => {
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...CONFIG, pretrained_cfg: { ...CONFIG.pretrained_cfg, input_size: [3, 112, 112], crop_pct: 0.7777, interpolation } }));
      const { net: loaded } = await loadModel('mobilenet_v3_small', { weights: path.join(dir, 'model.safetensors') });
      const size = imageSizeOf(loaded, undefined);
      assert.equal(resizeOf(loaded, size), 144);
      const steps = evalTransforms(size, normalizationOf(loaded), resizeOf(loaded, size), interpolationOf(loaded));
      return { interpolation: interpolationOf(loaded), data: (await compose(steps).apply(image)).data };
    };
    const bicubic = await evalTensor('bicubic');
    const bilinear = await evalTensor('bilinear');
    assert.equal(bicubic.interpolation, 'bicubic');
    assert.equal(bilinear.interpolation, 'bilinear');
    const { net: plain } = await loadModel('mobilenet_v3_small', {});
    assert.equal(interpolationOf(plain), 'bilinear', 'no config: bilinear, as torchvision');
    const reference = (name: string) => readFileSync(path.join(DATA_FIXTURES, `reference-jpg-${name}.bin`));
    const [mean, std] = [[127.5, 127.5, 127.5], [63.75, 63.75, 63.75]];
    const toBicubic = levelError(bicubic.data, reference('eval_bicubic'), mean, std);
    const toBilinear = levelError(bilinear.data, reference('eval'), mean, std);
    const crossed = levelError(bilinear.data, reference('eval_bicubic'), mean, std);
    // Tolerances: libvips' cubic vs PIL's bicubic and linear vs PIL's bilinear, a level or two in rounding.
    assert.ok(toBicubic.max <= 3 && toBicubic.mean < 0.3, `bicubic vs torchvision BICUBIC: ${JSON.stringify(toBicubic)}`);
    assert.ok(toBilinear.max <= 8 && toBilinear.mean < 0.6, `bilinear vs torchvision BILINEAR: ${JSON.stringify(toBilinear)}`);
    assert.ok(crossed.mean > 2 * toBicubic.mean, `the interpolation changes the eval tensor: bilinear is ${crossed.mean} levels from BICUBIC, bicubic ${toBicubic.mean}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
