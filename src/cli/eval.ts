import type { Command } from 'commander';
import { imageSizeOf, inChannelsOf, interpolationOf, isOnnxPath, loadNetwork, normalizationOf, resizeOf } from '../onnx-import/network.js';
import { confusionMatrix, macroAverage, perClassMetrics, type ClassMetrics } from '../report/metrics.js';
import { evaluateWithImages } from '../train/evaluate.js';
import { checkClassCount, headClasses } from '../transfer/strategies.js';
import type { PadMode } from '../nn/layers/conv2d.js';
import {
  batchSizeOption, calibrateOnOption, calibrationImagesOption, evalLoader, evaluationFolder, int8Options, intOption, modelOption, parsedOption, numClassesOption, padModeOption,
  precisionOption, weightsOption, type Precision, onnxNormalizationOption } from './shared-options.js';
import { describeInt8, type Int8Report } from '../runtime/int8.js';

interface EvalOptions {
  model: string;
  mean?: number[];
  std?: number[];
  weights?: string;
  numClasses?: number;
  padMode?: PadMode;
  imageSize?: number;
  batchSize: number;
  precision?: Precision;
  calibrationImages?: number;
  calibrateOn?: string;
  tta?: boolean;
  json?: boolean;
}

export interface EvalReport {
  folder: string;
  images: number;
  accuracy: number;
  loss: number;
  classes: ClassMetrics[];
  macro: { precision: number | null; recall: number | null; f1: number | null };
  confusion: number[][];
  precision: Precision;
  int8?: Int8Report;
}

export async function evalFolder(dir: string, options: EvalOptions): Promise<EvalReport> {
  if (!options.weights && !isOnnxPath(options.model)) throw new Error(`--weights is required for ${options.model} (an .onnx model brings its own)`);
  const folder = await evaluationFolder(dir);
  const { net } = await loadNetwork(options.model, { weights: options.weights, numClasses: options.numClasses, padMode: options.padMode, mean: options.mean, std: options.std });
  checkClassCount(headClasses(net), folder.classNames, options.weights ?? options.model, folder.root);
  const size = imageSizeOf(net, options.imageSize);
  const loader = evalLoader(folder, options.batchSize, size, { normalize: normalizationOf(net), resize: resizeOf(net, size), interpolation: interpolationOf(net), decodedCache: 0 });
  const channels = inChannelsOf(net);
  const int8 = await int8Options(options, { calibration: folder, imageSize: size, channels, seed: 0, normalize: normalizationOf(net) });
  const { evaluation, int8: report } = await evaluateWithImages(net, loader, [channels, size, size], 0, { tta: options.tta, int8 });
  const classNames = [...folder.classNames];
  const confusion = confusionMatrix(evaluation.labels, evaluation.predicted, classNames.length);
  const classes = perClassMetrics(confusion, classNames);
  return {
    folder: folder.root, images: evaluation.labels.length, accuracy: evaluation.accuracy, loss: evaluation.loss, classes,
    macro: { precision: macroAverage(classes, 'precision'), recall: macroAverage(classes, 'recall'), f1: macroAverage(classes, 'f1') },
    confusion, precision: options.precision ?? 'float32', ...(report ? { int8: report } : {}),
  };
}

const shown = (v: number | null) => (v === null ? '  -  ' : v.toFixed(3));

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy, loss and per-class precision/recall/F1 of a model on an image folder (the tutorial\'s val transforms)')
    .argument('<folder>', 'an image folder with one sub-folder per class, or a dataset folder with val/ inside')
    .addOption(modelOption())
    .addOption(weightsOption('weights: best.ckpt from tlkit train, a .safetensors file, or a registry name (required unless --model is an .onnx file)'))
    .addOption(numClassesOption())
    .addOption(padModeOption())
    .addOption(intOption('--image-size <n>', 'crop size (images are resized to size+32, then center-cropped; default: 224, or the .onnx model\'s input size)'))
    .addOption(onnxNormalizationOption('mean'))
    .addOption(onnxNormalizationOption('std'))
    .addOption(batchSizeOption())
    .addOption(precisionOption())
    .addOption(calibrationImagesOption())
    .addOption(calibrateOnOption('default: the evaluated folder, apart from the agreement images'))
    .option('--tta', 'test-time augmentation: average the predictions of each centre crop and its mirror image')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, options: EvalOptions) => {
      const report = await evalFolder(dir, options);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const out: string[] = [
        `${report.folder}: ${report.images} images${report.int8 ? ` (${describeInt8(report.int8)})` : ''}`,
        `Accuracy: [${report.accuracy.toFixed(3)}], Loss: [${report.loss.toFixed(3)}]`,
        '',
        `${'class'.padEnd(20)} precision  recall     f1  support`,
        ...report.classes.map((c) => `${c.className.padEnd(20)} ${shown(c.precision).padStart(9)} ${shown(c.recall).padStart(7)} ${shown(c.f1).padStart(6)} ${String(c.support).padStart(8)}`),
        `${'macro average'.padEnd(20)} ${shown(report.macro.precision).padStart(9)} ${shown(report.macro.recall).padStart(7)} ${shown(report.macro.f1).padStart(6)} ${String(report.images).padStart(8)}`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
