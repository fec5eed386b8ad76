import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { HostTensor } from '../tensor.js';
import { looksEncryptedCheckpoint, parseCheckpoint } from './ckpt.js';
import { parseNpy } from './npy.js';
import { parseOnnxInitializers, parseOnnxTensor } from './onnx-inspect.js';
import { refusePickle } from './pickle-guard.js';
import { parseSafetensors, readShardedSafetensors } from './safetensors.js';

export type WeightFormat = 'mindspore-ckpt' | 'safetensors' | 'safetensors-index' | 'npy' | 'onnx' | 'onnx-tensor';

/**
 * Recognises a weight file by its first bytes (extensions lie: people rename .pth to .ckpt).
 * Returns null when nothing matches.
 */
export function detectWeightFormat(head: Uint8Array, fileSize: number): WeightFormat | null {
  if (head.length >= 6 && head[0] === 0x93 && Buffer.from(head.subarray(1, 6)).toString('latin1') === 'NUMPY') return 'npy';
  if (head.length >= 9) {
    const headerLength = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (head[8] === 0x7b && headerLength + 8n <= BigInt(fileSize)) return 'safetensors';
  }
  const firstNonSpace = head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (firstNonSpace === 0x7b) return 'safetensors-index';
  // A MindSpore checkpoint begins with field 1 (Checkpoint.value), wire type 2; an ONNX model with
  // field 1 (ir_version), wire type 0, and so does a lone ONNX TensorProto (dims), told apart on decoding.
  if (head[0] === 0x0a) return 'mindspore-ckpt';
  if (head[0] === 0x08) return 'onnx';
  return null;
}

export interface WeightFile {
  format: WeightFormat;
  tensors: Map<string, HostTensor>;
  /** safetensors metadata or checkpoint strings; empty for other formats. */
  metadata: Record<string, string>;
}

/** Reads any supported weight file, with its format and metadata. */
export async function readWeightFile(file: string): Promise<WeightFile> {
  const bytes = await fs.readFile(file);
  refusePickle(bytes, file);
  const format = detectWeightFormat(bytes.subarray(0, 64), bytes.length);
  switch (format) {
    case 'npy':
      return { format, tensors: new Map([[path.basename(file, path.extname(file)), parseNpy(bytes, file)]]), metadata: {} };
    case 'safetensors': {
      const { tensors, metadata } = parseSafetensors(bytes, file);
      return { format, tensors, metadata };
    }
    case 'safetensors-index': {
      const { tensors, metadata } = await readShardedSafetensors(file);
      return { format, tensors, metadata };
    }
    case 'mindspore-ckpt': {
      const { tensors, strings } = parseCheckpoint(bytes, file);
      return { format, tensors, metadata: Object.fromEntries(strings) };
    }
    case 'onnx':
    case 'onnx-tensor':
      try {
        return { format: 'onnx', tensors: parseOnnxInitializers(bytes, file), metadata: {} };
      } catch (modelError) {
        try {
          const name = path.basename(file, path.extname(file));
          return { format: 'onnx-tensor', tensors: new Map([[name, parseOnnxTensor(bytes, file)]]), metadata: {} };
        } catch {
          throw modelError;
        }
      }
    default:
      // Encrypted checkpoints and damaged files land here; the checkpoint parser explains both.
      if (looksEncryptedCheckpoint(bytes) || (bytes.length > 0 && path.extname(file).toLowerCase() === '.ckpt')) parseCheckpoint(bytes, file);
      throw new Error(
        `${file}: unrecognised weight file (expected a MindSpore .ckpt, .safetensors, model.safetensors.index.json, .npy or .onnx)`,
      );
  }
}

/** Reads any supported weight file into a name → tensor map. */
export async function readWeights(file: string): Promise<Map<string, HostTensor>> {
  return (await readWeightFile(file)).tensors;
}
