/**
 * Model-based transfer recipes over `fit`: fixed features (the tutorial's section 3.3) and
 * fine-tuning (whole network or from a stage on; freeze-then-unfreeze; lower body rate).
 */
import { namePattern, type Module } from '../nn/module.js';
import { fit, type FitOptions, type FitResult } from '../train/fit.js';
import { stageIndex } from '../runtime/stages.js';

/**
 * What transfer needs of a network: steps in order, a replaceable head, the width of its
 * features (any registry model, an imported ONNX model). The head is `fc` unless `headName`
 * says otherwise (`classifier` for MobileNet, EfficientNet, ConvNeXt).
 */
export interface TransferNet extends Module {
  readonly featureChannels: number;
  readonly headName?: string;
  stages(): Array<[string, Module]>;
  replaceHead(classes: number): void;
}

/** The tutorial's `net.fc = nn.Dense(in_channels, classes)`; the classifier's last linear layer for the other families. */
export function replaceHead<N extends TransferNet>(net: N, classes: number): N {
  net.replaceHead(classes);
  return net;
}

/** The model's class count must match the folder's, else every label would be misread. */
export function checkClassCount(modelClasses: number, classNames: readonly string[], weights: string | undefined, folder: string): void {
  if (modelClasses !== classNames.length) {
    throw new Error(`${weights ?? 'the model'} has ${modelClasses} output classes but ${folder} has ${classNames.length} (${classNames.join(', ')})`);
  }
}

/** Output classes of the head: the registry models say (`numClasses()`), an imported one has its `fc`. */
export function headClasses(net: { fc: Module } | { numClasses(): number }): number {
  if ('numClasses' in net) return net.numClasses();
  const weight = net.fc.namedParameters().find(([name]) => name === 'weight');
  if (!weight) throw new Error('the model has no fc.weight');
  return weight[1].shape[0]!;
}

export type CommonFitOptions = Omit<FitOptions, 'bnTraining'>;

export interface FixedFeatureOptions extends CommonFitOptions {
  /**
   * The tutorial leaves the frozen backbone's BN in training mode (batch statistics, moving
   * averages still updated); tlkit's default keeps it in inference mode, which makes the
   * backbone a fixed function (features can be cached) and is what fixed features means.
   */
  backboneBnTraining?: boolean;
}

/** Freezes everything but the head (fc.* for ResNet, classifier.* for the others); returns the BN mode fit trains with. */
export function freezeBackbone(net: TransferNet, backboneBnTraining = false): { bnTraining: boolean } {
  net.freeze();
  net.unfreeze(net.headName ?? 'fc');
  if (backboneBnTraining) net.train(true);
  else net.eval();
  return { bnTraining: backboneBnTraining };
}

/** Trains only the head on a frozen pretrained backbone. */
export async function trainFixedFeature(net: TransferNet, options: FixedFeatureOptions): Promise<FitResult> {
  return fit(net, { ...options, ...freezeBackbone(net, options.backboneBnTraining) });
}

export interface FineTuneOptions extends CommonFitOptions {
  /** Train from this stage on (`layer4`), everything before stays frozen; default: the whole network. */
  fromStage?: string;
  /** Extra name patterns to keep frozen. */
  freeze?: string[];
  /** BN layers of the trained part use batch statistics (default true); false = BN frozen. */
  bnTraining?: boolean;
  /** Learning-rate multiplier of pretrained weights relative to the new head (default 1). */
  bodyLrScale?: number;
  /** First train the head alone for this many epochs (fastai's fine_tune). */
  headEpochs?: number;
  headLr?: number;
}

export async function fineTune(net: TransferNet, options: FineTuneOptions): Promise<{ head?: FitResult; body: FitResult }> {
  let head: FitResult | undefined;
  if (options.headEpochs && options.headEpochs > 0) {
    // The head phase trains fc alone; a relational loss on the (frozen) features would be constant.
    const { extra: _extra, extraFeeds: _extraFeeds, ...headOptions } = options;
    head = await trainFixedFeature(net, { ...headOptions, epochs: options.headEpochs, lr: options.headLr ?? options.lr, resume: false, checkpointDir: undefined, cacheFeatures: 'auto' });
  }
  const body = await fit(net, { ...options, ...unfreezeForFineTune(net, options) });
  return { head, body };
}

/**
 * Makes trainable what fine-tuning trains (everything from `fromStage` on, less `freeze`), sets
 * the BN mode, and returns it with the per-parameter rates (the body at `bodyLrScale`).
 */
export function unfreezeForFineTune(net: TransferNet, options: Pick<FineTuneOptions, 'fromStage' | 'freeze' | 'bnTraining' | 'bodyLrScale' | 'lrScale'>): Pick<FitOptions, 'bnTraining' | 'lrScale'> {
  net.unfreeze();
  const bnTraining = options.bnTraining ?? true;
  if (bnTraining) net.train(true);
  else net.eval();
  if (options.fromStage) {
    const stages = net.stages();
    const start = stageIndex(stages, options.fromStage);
    for (const [, stage] of stages.slice(0, start)) {
      for (const [, p] of stage.namedParameters()) p.requiresGrad = false;
      stage.eval();
    }
  }
  if (options.freeze?.length) net.freeze(...options.freeze);
  const headPattern = namePattern(net.headName ?? 'fc');
  const bodyScale = options.bodyLrScale ?? 1;
  return { bnTraining, lrScale: options.lrScale ?? ((p) => (headPattern.test(p.name) ? 1 : bodyScale)) };
}
