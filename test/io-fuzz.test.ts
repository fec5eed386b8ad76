import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostTensor } from '../src/tensor.js';
import { encodeCheckpoint, parseCheckpoint } from '../src/io/ckpt.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { encodeSafetensors, parseSafetensors } from '../src/io/safetensors.js';

const MUTANTS_PER_READER = 1500;

/** mulberry32: a tiny seeded PRNG so every run feeds the same mutants. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x22, 0x7b, 0x7d, 0x5b, 0x2c, 0x3a];

function mutate(original: Uint8Array, random: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(random() * n);
  let bytes = Buffer.from(original);
  const steps = 1 + pick(4);
  for (let s = 0; s < steps; s++) {
    switch (pick(7)) {
      case 0: { // flip a bit
        const i = pick(bytes.length);
        bytes[i] = bytes[i]! ^ (1 << pick(8));
        break;
      }
      case 1: // an interesting byte somewhere
        bytes[pick(bytes.length)] = INTERESTING_BYTES[pick(INTERESTING_BYTES.length)]!;
        break;
      case 2: // truncate
        bytes = bytes.subarray(0, pick(bytes.length));
        break;
      case 3: { // insert random bytes
        const at = pick(bytes.length + 1);
        const extra = Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256)));
        bytes = Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
        break;
      }
      case 4: { // a random little-endian length at the front (safetensors header, npy header size)
        if (bytes.length >= 8) bytes.writeUInt32LE(pick(2 ** 32), pick(2) * 4);
        break;
      }
      case 5: { // duplicate a span (repeated protobuf fields, doubled JSON)
        const from = pick(bytes.length);
        const span = bytes.subarray(from, from + 1 + pick(32));
        const at = pick(bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), span, bytes.subarray(at)]);
        break;
      }
      default: { // change a digit, to make shapes and offsets lie
        const digits = [...bytes.keys()].filter((i) => bytes[i]! >= 0x30 && bytes[i]! <= 0x39);
        if (digits.length) bytes[digits[pick(digits.length)]!] = 0x30 + pick(10);
      }
    }
    if (bytes.length === 0) break;
  }
  return Uint8Array.from(bytes);
}

function tensorBytesTotal(tensors: Iterable<HostTensor>): number {
  let total = 0;
  for (const t of tensors) total += t.data.byteLength;
  return total;
}

function fuzz(name: string, seed: number, original: Uint8Array, parse: (bytes: Uint8Array) => Iterable<HostTensor>): void {
  const random = prng(seed);
  let parsed = 0;
  let refused = 0;
  for (let i = 0; i < MUTANTS_PER_READER; i++) {
    const mutant = mutate(original, random);
    try {
      const tensors = parse(mutant);
      // Whatever parses cannot hold more data than the file carried.
      assert.ok(tensorBytesTotal(tensors) <= mutant.length, `${name} mutant ${i}: parsed more data than the file holds`);
      parsed++;
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof Error, `${name} mutant ${i}: threw a non-Error ${String(error)}`);
      assert.equal(error.constructor, Error, `${name} mutant ${i}: threw ${error.constructor.name}: ${error.message}`);
      assert.ok(error.message.startsWith('fuzz: '), `${name} mutant ${i}: message does not name the file: ${error.message}`);
      refused++;
    }
  }
  assert.equal(parsed + refused, MUTANTS_PER_READER);
  assert.ok(refused > MUTANTS_PER_READER / 4, `${name}: only ${refused} mutants refused; the mutator is too gentle`);
}

const sample = (): Map<string, HostTensor> => new Map<string, HostTensor>([
  ['conv1.weight', { dtype: 'float32', shape: [2, 1, 2, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }],
  ['norm.gamma', { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0x4000]) }],
  ['global_step', { dtype: 'int32', shape: [1], data: new Int32Array([42]) }],
  ['learning_rate', { dtype: 'float32', shape: [], data: new Float32Array([0.01]) }],
  ['steps', { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) }],
]);

test(`MindSpore ckpt reader: ${MUTANTS_PER_READER} seeded mutants each parse or throw a plain Error naming the file`, () => {
  fuzz('ckpt', 1, Buffer.concat(encodeCheckpoint(sample(), { crc: false, sliceBytes: 16 })), (b) => parseCheckpoint(b, 'fuzz').tensors.values());
  fuzz('ckpt+crc', 2, Buffer.concat(encodeCheckpoint(sample(), { crc: true })), (b) => parseCheckpoint(b, 'fuzz').tensors.values());
});

test(`safetensors reader: ${MUTANTS_PER_READER} seeded mutants each parse or throw a plain Error naming the file`, () => {
  fuzz('safetensors', 3, Buffer.concat(encodeSafetensors(sample(), { format: 'pt' })), (b) => parseSafetensors(b, 'fuzz').tensors.values());
});

test(`npy reader: ${MUTANTS_PER_READER} seeded mutants each parse or throw a plain Error naming the file`, () => {
  fuzz('npy', 4, Buffer.concat(encodeNpy(sample().get('conv1.weight')!)), (b) => [parseNpy(b, 'fuzz')]);
  fuzz('npy-int64', 5, Buffer.concat(encodeNpy(sample().get('steps')!)), (b) => [parseNpy(b, 'fuzz')]);
});
