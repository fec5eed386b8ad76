import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint, writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { MODEL_NAMES } from '../src/models/registry.js';
import { readRunRecord } from '../src/report/run-record.js';
import {
  batchSizeOption, choiceOption, imageSizeOption, modelOption, padModeOption, precisionOption, requireFloat32, seedOption, weightsOption,
} from '../src/cli/shared-options.js';

let dir: string;
let data: string;
let weights: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-options-'));
  data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 4, val: 2, size: 64 });
  weights = path.join(dir, 'resnet18.ckpt');
  await writeMindSporeResNetCheckpoint(weights, 'resnet18', 1000);
});
after(() => rm(dir, { recursive: true, force: true }));

function parse(args: string[]): Record<string, unknown> {
  const command = new Command().exitOverride()
    .addOption(modelOption()).addOption(weightsOption()).addOption(padModeOption()).addOption(imageSizeOption())
    .addOption(batchSizeOption()).addOption(seedOption()).addOption(precisionOption());
  command.parse(args, { from: 'user' });
  return command.opts();
}

test('shared options parse to numbers and closed choices, with the defaults every command shares', () => {
  assert.deepEqual(parse([]), { model: 'resnet50', imageSize: 224, batchSize: 16, seed: 0, precision: 'float32' });
  const given = parse(['--model', 'resnet18', '--weights', 'w.safetensors', '--pad-mode', 'pad', '--image-size', '96', '--batch-size', '3', '--seed', '7', '--precision', 'int8']);
  assert.deepEqual(given, { model: 'resnet18', weights: 'w.safetensors', padMode: 'pad', imageSize: 96, batchSize: 3, seed: 7, precision: 'int8' });
  assert.equal(parse(['--model', 'exports/mobilenet.ONNX']).model, 'exports/mobilenet.ONNX', 'an ONNX file is a model too');
  assert.throws(() => parse(['--model', 'resnet7']), /unknown model "resnet7"; known models: resnet18, .*\.onnx file/);
  assert.throws(() => parse(['--image-size', '22.5']), /--image-size must be a positive integer, got "22\.5"/);
  assert.throws(() => parse(['--batch-size', '0']), /--batch-size must be a positive integer, got "0"/);
  assert.throws(() => parse(['--pad-mode', 'reflect']), /--pad-mode must be one of same, pad, got "reflect"/);
  assert.throws(() => parse(['--precision', 'fp16']), /--precision must be one of float32, int8, got "fp16"/);
  assert.throws(() => requireFloat32('int8', 'train'), /--precision int8 is not supported by tlkit train yet/);
  assert.doesNotThrow(() => requireFloat32('float32', 'train'));
  assert.equal(choiceOption('--x <v>', 'x', ['a', 'b'] as const).argChoices?.join(), 'a,b');
});

test('every command that takes --model lists the registry in --help, from one place', async () => {
  for (const command of ['train', 'eval', 'predict', 'visualize', 'features', 'export', 'pipeline']) {
    const { stdout, code } = await runCli([command, '--help']);
    assert.equal(code, 0, command);
    const help = stdout.replace(/\s+/g, ' ');
    for (const name of MODEL_NAMES) assert.ok(help.includes(`"${name}"`), `${command} --help lists ${name}`);
    assert.match(help, /--precision <p>/, `${command} takes --precision`);
  }
  for (const command of ['eval', 'predict', 'visualize', 'features', 'train']) {
    assert.match((await runCli([command, '--help'])).stdout, /--weights <file>/, `${command} takes --weights`);
  }
});

test('tlkit train takes --weights (and --pretrained as its alias); numbers land in run.json as numbers; --early-stopping is recorded', async () => {
  const out = path.join(dir, 'run');
  const common = ['--model', 'resnet18', '--batch-size', '4', '--image-size', '64', '--no-progress', '--epochs', '1', '--out', out];
  const trained = await runCli(['train', data, ...common, '--weights', weights, '--early-stopping', '3', '--lr', '0.01']);
  assert.equal(trained.code, 0, trained.stderr);
  const record = await readRunRecord(out);
  assert.equal(record.config.pretrained, weights);
  assert.equal(record.config.lr, 0.01);
  assert.equal(record.config.batchSize, 4);
  assert.deepEqual(record.config.earlyStopping, { patience: 3, metric: 'accuracy' });
  const both = await runCli(['train', data, ...common, '--weights', weights, '--pretrained', path.join(dir, 'other.ckpt')]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /--pretrained is another name for --weights: give one/);
  // int8 is wired (test/cli-int8.test.ts); on layers that train it is refused with what is allowed.
  const int8 = await runCli(['train', data, ...common, '--mode', 'scratch', '--precision', 'int8']);
  assert.equal(int8.code, 1);
  assert.match(int8.stderr, /^tlkit: --precision int8 applies to frozen layers only, and --mode scratch trains every layer; allowed: /);
});

test('tlkit train --class-weights balanced --mixup --accumulate run and are recorded; eval and predict take --tta', async () => {
  const out = path.join(dir, 'run-tools');
  const common = ['--model', 'resnet18', '--weights', weights, '--batch-size', '2', '--image-size', '64', '--no-progress', '--epochs', '1', '--out', out];
  const trained = await runCli(['train', data, ...common, '--class-weights', 'balanced', '--mixup', '0.4', '--accumulate', '2']);
  assert.equal(trained.code, 0, trained.stderr);
  const record = await readRunRecord(out);
  assert.equal(record.config.classWeights, 'balanced');
  assert.deepEqual(record.config.mix, { kind: 'mixup', alpha: 0.4 });
  assert.equal(record.config.effectiveBatchSize, 4);
  const both = await runCli(['train', data, ...common, '--mixup', '0.4', '--cutmix', '1']);
  assert.match(both.stderr, /--mixup and --cutmix are alternatives/);
  const badWeights = await runCli(['train', data, ...common, '--class-weights', 'heavy']);
  assert.match(badWeights.stderr, /--class-weights must be 'balanced' or one number >= 0 per class/);

  const best = path.join(out, 'best.ckpt');
  const plain = await runCli(['eval', data, '--model', 'resnet18', '--weights', best, '--image-size', '64', '--json']);
  const tta = await runCli(['eval', data, '--model', 'resnet18', '--weights', best, '--image-size', '64', '--json', '--tta']);
  assert.equal(tta.code, 0, tta.stderr);
  assert.notEqual(JSON.parse(tta.stdout).loss, JSON.parse(plain.stdout).loss, 'the mirrored views change the averaged loss');
  const predicted = await runCli(['predict', path.join(data, 'val'), '--model', 'resnet18', '--weights', best, '--image-size', '64', '--json', '--tta']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const rows = JSON.parse(predicted.stdout) as Array<{ source: string; probabilities: number[] }>;
  assert.equal(rows.length, 4);
  for (const row of rows) assert.ok(Math.abs(row.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test('tlkit lr-find writes the loss-vs-rate plot and prints a suggestion; train --lr auto trains at the suggestion', async () => {
  const out = path.join(dir, 'lr-find');
  const common = ['--model', 'resnet18', '--weights', weights, '--batch-size', '2', '--image-size', '64'];
  const found = await runCli(['lr-find', data, ...common, '--no-augment', '--iterations', '30', '--start-lr', '1e-5', '--out', out]);
  assert.equal(found.code, 0, found.stderr);
  const suggested = /Suggested learning rate: (\S+) \((\d+) steps/.exec(found.stdout);
  assert.ok(suggested, found.stdout);
  const numbers = JSON.parse(await readFile(path.join(out, 'lr-find.json'), 'utf8')) as { suggestion: number; learningRates: number[]; losses: number[] };
  assert.equal(numbers.learningRates.length, Number(suggested[2]));
  assert.ok(numbers.learningRates.every((lr, i) => i === 0 || lr > numbers.learningRates[i - 1]!), 'the rates grow');
  assert.ok(numbers.suggestion >= numbers.learningRates[0]! && numbers.suggestion <= numbers.learningRates.at(-1)!);
  const png = await readFile(path.join(out, 'lr-find.png'));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);

  const run = path.join(dir, 'lr-auto');
  const trained = await runCli(['train', data, ...common, '--no-progress', '--epochs', '1', '--lr', 'auto', '--out', run]);
  assert.equal(trained.code, 0, trained.stderr);
  const chosen = /lr-find: suggested learning rate (\S+)/.exec(trained.stdout);
  assert.ok(chosen, trained.stdout);
  const record = await readRunRecord(run);
  assert.equal(record.config.lrFind, true);
  assert.ok(Math.abs((record.config.lr as number) / Number(chosen[1]) - 1) < 0.01, `trained at ${record.config.lr}`);
  assert.match((await runCli(['train', data, ...common, '--lr', 'fast'])).stderr, /--lr must be a positive number, got "fast"/);
});
