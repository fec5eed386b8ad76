/**
 * PyTorch .pt/.pth files are pickles (raw, or inside a zip as archive/data.pkl). Unpickling runs
 * arbitrary code, so tlkit only recognises them, byte-wise, and explains how to convert them.
 */
export type PickleKind = 'torch-zip' | 'pickle';

const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04];
/** The central directory sits at the end of a zip; PyTorch names its pickle ".../data.pkl". */
const CENTRAL_DIRECTORY_SCAN_BYTES = 1 << 20;

export const CONVERT_TO_SAFETENSORS_HINT =
  'convert it once with Python: python3 -c "import torch; from safetensors.torch import save_file; ' +
  "sd = torch.load('model.pth', map_location='cpu', weights_only=True); sd = sd.get('state_dict', sd); " +
  "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')\"";

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

function isTorchZip(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, ZIP_LOCAL_HEADER) || bytes.length < 30) return false;
  const nameLength = bytes[26]! | (bytes[27]! << 8);
  const firstName = Buffer.from(bytes.buffer, bytes.byteOffset + 30, Math.min(nameLength, bytes.length - 30)).toString('latin1');
  if (firstName.endsWith('data.pkl') || firstName.endsWith('.pkl')) return true;
  const tailStart = Math.max(0, bytes.length - CENTRAL_DIRECTORY_SCAN_BYTES);
  return Buffer.from(bytes.buffer, bytes.byteOffset + tailStart, bytes.length - tailStart).includes('data.pkl');
}

export function detectPickle(bytes: Uint8Array): PickleKind | null {
  if (isTorchZip(bytes)) return 'torch-zip';
  // PROTO opcode (0x80) followed by a protocol number 2..5: how every modern pickle begins.
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) return 'pickle';
  return null;
}

/** Throws a message pointing to safetensors if `bytes` hold a pickle; returns otherwise. */
export function refusePickle(bytes: Uint8Array, source: string): void {
  const kind = detectPickle(bytes);
  if (!kind) return;
  const what = kind === 'torch-zip' ? 'a PyTorch zip checkpoint (.pt/.pth with data.pkl)' : 'a Python pickle (legacy PyTorch .pt/.pth)';
  throw new Error(`${source}: ${what}. tlkit never unpickles files, because loading a pickle can run arbitrary code; ${CONVERT_TO_SAFETENSORS_HINT}`);
}
