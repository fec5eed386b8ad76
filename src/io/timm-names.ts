/**
 * timm's names for the mobile families and ConvNeXt, mapped onto torchvision's. Layouts agree
 * except two shapes: timm's MobileNetV3 head is a 1x1 conv ([out, in, 1, 1]) where torchvision's
 * is a Linear ([out, in]), and ConvNeXt's layer scale is [C] in timm, [C, 1, 1] in torchvision.
 *
 * The map is built from the torchvision names of the network being loaded (their order and
 * shapes tell IR from depthwise-separable blocks), so it covers exactly the target variant.
 */
import type { HostTensor } from '../tensor.js';

export type TimmFamily = 'mobilenet_v2' | 'mobilenet_v3' | 'efficientnet' | 'convnext';

/** The names that tell the families apart, in timm and in torchvision spelling. */
const SIGNS: ReadonlyArray<{ family: string; convention: 'timm' | 'torchvision' | 'mindspore'; test: (names: Set<string>, list: string[]) => boolean }> = [
  { family: 'convnext', convention: 'timm', test: (s) => s.has('stem.0.weight') && [...s].some((n) => /^stages\.\d+\.blocks\.\d+\.conv_dw\./.test(n)) },
  { family: 'mobilenet_v3', convention: 'timm', test: (s) => s.has('conv_stem.weight') && s.has('conv_head.bias') },
  { family: 'efficientnet', convention: 'timm', test: (s, l) => s.has('conv_stem.weight') && s.has('bn2.weight') && l.some((n) => n.includes('.se.conv_reduce.')) },
  { family: 'mobilenet_v2', convention: 'timm', test: (s, l) => s.has('conv_stem.weight') && s.has('bn2.weight') && !l.some((n) => n.includes('.se.')) },
  { family: 'convnext', convention: 'torchvision', test: (_, l) => l.some((n) => n.endsWith('.layer_scale')) },
  { family: 'efficientnet', convention: 'torchvision', test: (_, l) => l.some((n) => /^features\.\d+\.\d+\.block\.\d+\.fc1\./.test(n)) },
  { family: 'mobilenet_v3', convention: 'torchvision', test: (_, l) => l.some((n) => /^features\.\d+\.block\./.test(n)) },
  { family: 'mobilenet_v2', convention: 'torchvision', test: (_, l) => l.some((n) => /^features\.\d+\.conv\./.test(n)) },
  { family: 'resnet', convention: 'mindspore', test: (_, l) => l.some((n) => /^layer1\.0\..*\.(gamma|moving_mean)$/.test(n)) },
  { family: 'resnet', convention: 'torchvision', test: (s) => s.has('layer1.0.conv1.weight') },
];

/** The family and naming convention a weight file's names look like, or undefined. */
export function detectFamily(names: Iterable<string>): { family: string; convention: 'timm' | 'torchvision' | 'mindspore' } | undefined {
  const list = [...names].map((n) => n.replace(/^module\./, ''));
  const set = new Set(list);
  const sign = SIGNS.find((s) => s.test(set, list));
  return sign ? { family: sign.family, convention: sign.convention } : undefined;
}

/** Parameter names and shapes of the target network, in torchvision spelling. */
export type TorchvisionLayout = ReadonlyArray<{ name: string; shape: readonly number[] }>;

const BN_LEAVES = ['weight', 'bias', 'running_mean', 'running_var'];

/** timm's block stage lengths (its blocks.S.J) for torchvision's flat MobileNet features.1..N. */
const TIMM_MOBILENET_STAGES: Record<string, number[]> = {
  mobilenet_v3_large: [1, 2, 3, 4, 2, 3],
  mobilenet_v3_small: [1, 2, 3, 2, 3],
  mobilenet_v2: [1, 2, 3, 4, 3, 3, 1],
};

function byModule(layout: TorchvisionLayout): Map<string, { leaves: string[]; shape: readonly number[] }> {
  const modules = new Map<string, { leaves: string[]; shape: readonly number[] }>();
  for (const { name, shape } of layout) {
    const cut = name.lastIndexOf('.');
    const module = name.slice(0, cut);
    const entry = modules.get(module) ?? { leaves: [], shape };
    entry.leaves.push(name.slice(cut + 1));
    modules.set(module, entry);
  }
  return modules;
}

/**
 * The timm name of every tensor of a torchvision-layout network of `model` (mobilenet_v2,
 * mobilenet_v3_large/small, efficientnet_b*, convnext_tiny), as torchvision name -> timm name.
 */
export function timmNamesFor(model: string, layout: TorchvisionLayout): Map<string, string> {
  const modules = byModule(layout);
  const map = new Map<string, string>();
  const put = (tvModule: string, timmModule: string) => {
    const entry = modules.get(tvModule);
    if (!entry) return;
    for (const leaf of entry.leaves) map.set(`${tvModule}.${leaf}`, `${timmModule}.${leaf === 'layer_scale' ? 'gamma' : leaf}`);
  };
  const isBn = (m: string) => BN_LEAVES.every((l) => modules.get(m)?.leaves.includes(l));
  /** The ordered conv/BN/SE modules under a torchvision block prefix. */
  const inside = (prefix: string) => [...modules.keys()].filter((m) => m.startsWith(`${prefix}.`));

  const mobileBlock = (tvBlock: string, timmBlock: string) => {
    const parts = inside(tvBlock);
    const convs = parts.filter((m) => !isBn(m) && !/\.fc[12]$/.test(m));
    const norms = parts.filter(isBn);
    const se = parts.filter((m) => /\.fc[12]$/.test(m));
    const expands = convs.length === 3;
    const convNames = expands ? ['conv_pw', 'conv_dw', 'conv_pwl'] : ['conv_dw', 'conv_pw'];
    const bnNames = expands ? ['bn1', 'bn2', 'bn3'] : ['bn1', 'bn2'];
    convs.forEach((m, i) => put(m, `${timmBlock}.${convNames[i]}`));
    norms.forEach((m, i) => put(m, `${timmBlock}.${bnNames[i]}`));
    for (const m of se) put(m, `${timmBlock}.se.${m.endsWith('fc1') ? 'conv_reduce' : 'conv_expand'}`);
  };

  if (model.startsWith('convnext')) {
    put('features.0.0', 'stem.0');
    put('features.0.1', 'stem.1');
    for (const m of modules.keys()) {
      const block = /^features\.(\d+)\.(\d+)\.block\.(\d+)$/.exec(m);
      const blockScale = /^features\.(\d+)\.(\d+)$/.exec(m);
      const down = /^features\.(\d+)\.([01])$/.exec(m);
      if (block) {
        const stage = (Number(block[1]) - 1) / 2;
        const inner = { '0': 'conv_dw', '2': 'norm', '3': 'mlp.fc1', '5': 'mlp.fc2' }[block[3]!];
        if (inner) put(m, `stages.${stage}.blocks.${block[2]}.${inner}`);
      } else if (blockScale && Number(blockScale[1]) % 2 === 1) {
        put(m, `stages.${(Number(blockScale[1]) - 1) / 2}.blocks.${blockScale[2]}`);
      } else if (down && Number(down[1]) % 2 === 0 && down[1] !== '0') {
        put(m, `stages.${Number(down[1]) / 2}.downsample.${down[2]}`);
      }
    }
    put('classifier.0', 'head.norm');
    put('classifier.2', 'head.fc');
    return map;
  }

  const features = [...new Set([...modules.keys()].filter((m) => m.startsWith('features.')).map((m) => Number(m.split('.')[1])))].sort((a, b) => a - b);
  const last = features[features.length - 1]!;
  put('features.0.0', 'conv_stem');
  put('features.0.1', 'bn1');
  if (model.startsWith('efficientnet')) {
    for (const i of features.slice(1, -1)) {
      const blocks = [...new Set([...modules.keys()].filter((m) => m.startsWith(`features.${i}.`)).map((m) => Number(m.split('.')[2])))];
      for (const j of blocks) mobileBlock(`features.${i}.${j}`, `blocks.${i - 1}.${j}`);
    }
    put(`features.${last}.0`, 'conv_head');
    put(`features.${last}.1`, 'bn2');
    put('classifier.1', 'classifier');
    return map;
  }

  const stages = TIMM_MOBILENET_STAGES[model];
  if (!stages) throw new Error(`no timm names for ${model}`);
  let feature = 1;
  stages.forEach((count, s) => {
    for (let j = 0; j < count; j++) mobileBlock(`features.${feature++}`, `blocks.${s}.${j}`);
  });
  if (model === 'mobilenet_v2') {
    put(`features.${last}.0`, 'conv_head');
    put(`features.${last}.1`, 'bn2');
    put('classifier.1', 'classifier');
  } else {
    // MobileNetV3: the last 1x1 conv is timm's final stage (a ConvBnAct), the hidden Linear its conv_head.
    put(`features.${last}.0`, `blocks.${stages.length}.0.conv`);
    put(`features.${last}.1`, `blocks.${stages.length}.0.bn1`);
    put('classifier.0', 'conv_head');
    put('classifier.3', 'classifier');
  }
  return map;
}

/**
 * Renames a timm-named parameter map into torchvision names for `layout`, reshaping the two
 * tensors whose shapes differ only by trailing 1s. Names the map does not know pass through
 * unchanged (they then show up as unexpected, and the torchvision names as missing).
 */
export function timmToTorchvision(params: Map<string, HostTensor>, model: string, layout: TorchvisionLayout): Map<string, HostTensor> {
  const toTimm = timmNamesFor(model, layout);
  const fromTimm = new Map([...toTimm].map(([tv, timm]) => [timm, tv]));
  const shapes = new Map(layout.map(({ name, shape }) => [name, shape]));
  const out = new Map<string, HostTensor>();
  for (const [name, tensor] of params) {
    const stripped = name.replace(/^module\./, '');
    const target = fromTimm.get(stripped) ?? stripped;
    const shape = shapes.get(target);
    const sameCount = shape !== undefined && shape.reduce((a, b) => a * b, 1) === tensor.shape.reduce((a, b) => a * b, 1);
    const differs = shape !== undefined && (shape.length !== tensor.shape.length || shape.some((d, i) => d !== tensor.shape[i]));
    out.set(target, differs && sameCount && onlyUnitDims(shape!, tensor.shape) ? { ...tensor, shape: [...shape!] } : tensor);
  }
  return out;
}

/** Do the two shapes agree once every dimension of size 1 is dropped? */
function onlyUnitDims(a: readonly number[], b: readonly number[]): boolean {
  const strip = (s: readonly number[]) => s.filter((d) => d !== 1);
  const x = strip(a);
  const y = strip(b);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}
