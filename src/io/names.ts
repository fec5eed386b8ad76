/**
 * Parameter-name conventions. tlkit's canonical names are those of MindSpore's ResNet tutorial
 * (conv1.weight, norm.gamma, layer1.0.norm1.moving_mean, layer1.0.down_sample.1.beta, fc.weight);
 * torchvision and timm ResNets name the same tensors conv1.weight, bn1.weight,
 * layer1.0.bn1.running_mean, layer1.0.downsample.1.bias, fc.weight. Layouts agree (OIHW convs,
 * [out, in] dense weights), so only names change.
 */
export type NameConvention = 'mindspore' | 'torchvision' | 'timm';

const TORCH_TO_MINDSPORE_LEAF: Readonly<Record<string, string>> = {
  weight: 'gamma', bias: 'beta', running_mean: 'moving_mean', running_var: 'moving_variance',
};
const MINDSPORE_TO_TORCH_LEAF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TORCH_TO_MINDSPORE_LEAF).map(([torch, ms]) => [ms, torch]),
);

const MINDSPORE_SIGNS = [/\.gamma$/, /\.beta$/, /\.moving_mean$/, /\.moving_variance$/, /(^|\.)down_sample\./];
const TORCH_SIGNS = [/\.running_mean$/, /\.running_var$/, /\.num_batches_tracked$/, /(^|\.)downsample\./, /(^|\.)bn\d+\./];

function splitName(name: string): { modulePath: string[]; leaf: string } {
  const parts = name.split('.');
  return { modulePath: parts.slice(0, -1), leaf: parts[parts.length - 1]! };
}

/** Which convention a set of names follows; 'unknown' when nothing distinguishes them (then names are used as they are). */
export function detectConvention(names: Iterable<string>): NameConvention | 'unknown' {
  let mindspore = 0;
  let torch = 0;
  for (const name of names) {
    if (MINDSPORE_SIGNS.some((sign) => sign.test(name))) mindspore++;
    if (TORCH_SIGNS.some((sign) => sign.test(name))) torch++;
  }
  if (mindspore > 0 && torch > 0) {
    throw new Error(`parameter names mix MindSpore (${mindspore} names like *.gamma) and PyTorch (${torch} names like *.running_mean) conventions`);
  }
  if (mindspore > 0) return 'mindspore';
  // timm's ResNet names are torchvision's; the two cannot be told apart and map identically.
  if (torch > 0) return 'torchvision';
  return 'unknown';
}

function isTorchBatchNorm(modulePath: string[], batchNormModules: ReadonlySet<string>): boolean {
  const last = modulePath[modulePath.length - 1] ?? '';
  if (/^bn\d*$/.test(last)) return true;
  if (last === '1' && modulePath[modulePath.length - 2] === 'downsample') return true;
  return batchNormModules.has(modulePath.join('.'));
}

/** One torchvision/timm ResNet name in canonical form, or null for bookkeeping tensors (num_batches_tracked). */
export function torchNameToCanonical(name: string, batchNormModules: ReadonlySet<string> = new Set()): string | null {
  const { modulePath, leaf } = splitName(name);
  if (leaf === 'num_batches_tracked') return null;
  const isBatchNorm = isTorchBatchNorm(modulePath, batchNormModules);
  const mapped = modulePath.map((segment, i) => {
    if (segment === 'downsample') return 'down_sample';
    if (i === 0 && modulePath.length === 1 && segment === 'bn1') return 'norm';
    const bn = /^bn(\d+)$/.exec(segment);
    if (bn && i > 0) return `norm${bn[1]}`;
    return segment;
  });
  const mappedLeaf = isBatchNorm ? (TORCH_TO_MINDSPORE_LEAF[leaf] ?? leaf) : leaf;
  return [...mapped, mappedLeaf].join('.');
}

/** One canonical name as torchvision/timm spell it. */
export function canonicalNameToTorch(name: string): string {
  const { modulePath, leaf } = splitName(name);
  const isBatchNorm = leaf in MINDSPORE_TO_TORCH_LEAF;
  const mapped = modulePath.map((segment, i) => {
    if (segment === 'down_sample') return 'downsample';
    if (i === 0 && modulePath.length === 1 && segment === 'norm') return 'bn1';
    const norm = /^norm(\d+)$/.exec(segment);
    if (norm && i > 0) return `bn${norm[1]}`;
    return segment;
  });
  return [...mapped, isBatchNorm ? MINDSPORE_TO_TORCH_LEAF[leaf]! : leaf].join('.');
}

export interface CanonicalNamesResult<T> {
  params: Map<string, T>;
  convention: NameConvention | 'unknown';
  /** Source names dropped on purpose (num_batches_tracked). */
  skipped: string[];
}

/**
 * Renames a parameter map to canonical names. `from: 'auto'` detects the convention from the
 * names present. A DataParallel 'module.' prefix on every name is removed first.
 */
export function toCanonicalNames<T>(params: Map<string, T>, from: NameConvention | 'auto' = 'auto'): CanonicalNamesResult<T> {
  const names = [...params.keys()];
  const stripModule = names.length > 0 && names.every((n) => n.startsWith('module.'));
  const source = stripModule ? new Map([...params].map(([n, v]) => [n.slice('module.'.length), v])) : params;
  const convention = from === 'auto' ? detectConvention(source.keys()) : from;
  if (convention === 'mindspore' || convention === 'unknown') return { params: new Map(source), convention, skipped: [] };

  const batchNormModules = new Set<string>();
  for (const name of source.keys()) {
    const { modulePath, leaf } = splitName(name);
    if (leaf === 'running_mean' || leaf === 'running_var') batchNormModules.add(modulePath.join('.'));
  }
  const out = new Map<string, T>();
  const skipped: string[] = [];
  for (const [name, value] of source) {
    const canonical = torchNameToCanonical(name, batchNormModules);
    if (canonical === null) {
      skipped.push(name);
      continue;
    }
    if (out.has(canonical)) throw new Error(`parameters '${name}' and another both map to '${canonical}'`);
    out.set(canonical, value);
  }
  return { params: out, convention, skipped };
}

/** Renames canonical parameters into another convention (for exporting to PyTorch users). */
export function fromCanonicalNames<T>(params: Map<string, T>, to: NameConvention): Map<string, T> {
  if (to === 'mindspore') return new Map(params);
  return new Map([...params].map(([name, value]) => [canonicalNameToTorch(name), value]));
}
