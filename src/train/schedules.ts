/** Learning-rate schedules, evaluated per optimizer step (0-based) out of `totalSteps`. */
export type LrSchedule =
  | { kind: 'constant' }
  /** Multiply by `gamma` every `everyEpochs` epochs (torch StepLR). */
  | { kind: 'step'; everyEpochs: number; gamma: number }
  /** Cosine annealing from the base rate to `minLr` over the run. */
  | { kind: 'cosine'; minLr?: number; warmupSteps?: number }
  /** Smith's one-cycle: linear warm-up to the base rate over `pctStart`, then cosine down to base/`finalDivisor`. */
  | { kind: 'one-cycle'; pctStart?: number; divFactor?: number; finalDivisor?: number };

export function learningRateAt(schedule: LrSchedule, baseLr: number, step: number, totalSteps: number, stepsPerEpoch: number): number {
  const progress = totalSteps > 1 ? Math.min(1, step / (totalSteps - 1)) : 0;
  switch (schedule.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * Math.pow(schedule.gamma, Math.floor(step / stepsPerEpoch / schedule.everyEpochs));
    case 'cosine': {
      const warmup = schedule.warmupSteps ?? 0;
      if (step < warmup) return (baseLr * (step + 1)) / warmup;
      const t = totalSteps - warmup > 1 ? (step - warmup) / (totalSteps - warmup - 1) : 0;
      const minLr = schedule.minLr ?? 0;
      return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * Math.min(1, t)));
    }
    case 'one-cycle': {
      const pctStart = schedule.pctStart ?? 0.3;
      const start = baseLr / (schedule.divFactor ?? 25);
      const end = baseLr / (schedule.finalDivisor ?? 1e4);
      if (progress < pctStart) return start + (baseLr - start) * (progress / pctStart);
      const t = (progress - pctStart) / (1 - pctStart);
      return end + 0.5 * (baseLr - end) * (1 + Math.cos(Math.PI * t));
    }
  }
}

/** The command-line spelling of a schedule (run records show it). */
export function describeSchedule(schedule: LrSchedule): string {
  return schedule.kind === 'step' ? `step:${schedule.everyEpochs}:${schedule.gamma}` : schedule.kind;
}

/** Parses `constant`, `step:E:G`, `cosine`, `one-cycle` from the command line. */
export function parseSchedule(text: string): LrSchedule {
  const [kind, ...args] = text.split(':');
  switch (kind) {
    case 'constant':
      return { kind: 'constant' };
    case 'step': {
      const everyEpochs = Number(args[0] ?? 1);
      const gamma = Number(args[1] ?? 0.1);
      if (!(everyEpochs > 0) || !(gamma > 0)) throw new Error(`schedule step:EPOCHS:GAMMA needs positive numbers, got "${text}"`);
      return { kind: 'step', everyEpochs, gamma };
    }
    case 'cosine':
      return { kind: 'cosine' };
    case 'one-cycle':
      return { kind: 'one-cycle' };
    default:
      throw new Error(`unknown schedule "${text}": use constant, step:EPOCHS:GAMMA, cosine or one-cycle`);
  }
}
