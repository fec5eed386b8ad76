/** What `tlkit inspect model.onnx` shows about importing a file: the cut points with their shapes, the default cut. */
import { analyzeOnnx } from './load.js';

export interface CutPointRow {
  tensor: string;
  shape: number[];
  /** Op type of the producing node ('input' for the graph input). */
  producedBy: string;
  /** The classifier's input: where tlkit cuts by default. */
  isDefault: boolean;
}

export interface ImportSummary {
  /** One sample's shape [C, H, W] the shapes were measured at. */
  inputShape: number[];
  defaultCut?: string;
  cuts: CutPointRow[];
  /** Why the file cannot be imported, when it cannot. */
  error?: string;
}

export async function summarizeImport(file: string, imageSize?: number): Promise<ImportSummary> {
  try {
    const { cuts, classifier, inputShape } = await analyzeOnnx(file, { imageSize });
    const defaultCut = classifier?.features;
    return { inputShape, defaultCut, cuts: cuts.slice(1).map((c) => ({ tensor: c.tensor, shape: c.shape, producedBy: c.producedBy, isDefault: c.tensor === defaultCut })) };
  } catch (error) {
    return { inputShape: [], cuts: [], error: error instanceof Error ? error.message : String(error) };
  }
}

export function formatImportSummary(summary: ImportSummary): string[] {
  if (summary.error) return [`cannot be imported for transfer: ${summary.error}`];
  const lines = [`cut points (--cut, --from-stage, features --stage), for input [N, ${summary.inputShape.join(', ')}]:`];
  const width = Math.max(...summary.cuts.map((c) => c.tensor.length));
  for (const c of summary.cuts) lines.push(`  ${c.isDefault ? '*' : ' '} ${c.tensor.padEnd(width)}  [N, ${c.shape.slice(1).join(', ')}]  after ${c.producedBy}`);
  lines.push(summary.defaultCut ? `  * default cut: the classifier's input '${summary.defaultCut}'` : '  no classifier (Gemm or MatMul) leads to the output: give --cut');
  return lines;
}
