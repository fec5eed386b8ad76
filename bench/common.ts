/** What every bench needs: the median of timings, a flag's value, and the CPU it ran on. */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value after `--name` in `args`. */
export function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function cpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export function cpuModel(): string {
  return cpuinfo().split('\n').find((l) => l.startsWith('model name'))?.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
}

export function hasAvx512(): boolean {
  return /\bavx512f\b/.test(cpuinfo());
}

/** "AMD EPYC (AVX-512: no, AVX2 only), 2 cores": the line every RESULTS.md section records. */
export function cpuDescription(): string {
  return `${cpuModel()} (AVX-512: ${hasAvx512() ? 'yes' : 'no, AVX2 only'}), ${os.cpus().length} cores`;
}

/**
 * Pause between one side's step and the other's. After a run ORT's intra-op threads spin-wait
 * (about 40 ms of one core's time, measured 2026-12-01) and OpenMP's do too: without a pause each
 * side's spinning threads take the cores from the other side's next step.
 */
export const SETTLE_MS = 150;

export function settle(ms = SETTLE_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
