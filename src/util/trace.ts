/**
 * Where a run's wall time goes: with TLKIT_TRACE set (`TLKIT_TRACE=1 tlkit train ...`), each phase that ends
 * writes one line to stderr, `tlkit trace: <ms since the process started> +<ms since the last line> <phase>`.
 * bench/tutorial.ts reads them into its start-up breakdown. Off (no output, no cost) otherwise and in browsers.
 */
const enabled = typeof process !== 'undefined' && Boolean(process.env?.TLKIT_TRACE);
let last = 0;

/** Marks the end of `phase` (what ran since the previous mark, or since the process started). */
export function trace(phase: string): void {
  if (!enabled) return;
  const now = performance.now();
  process.stderr.write(`tlkit trace: ${now.toFixed(0)} +${(now - last).toFixed(0)} ${phase}\n`);
  last = now;
}

/** The phases a traced run wrote, in order, with their durations in ms (for benches and tests). */
export function parseTrace(stderr: string): Array<{ phase: string; ms: number }> {
  return [...stderr.matchAll(/^tlkit trace: \d+ \+(\d+) (.+)$/gm)].map((m) => ({ phase: m[2]!, ms: Number(m[1]) }));
}
