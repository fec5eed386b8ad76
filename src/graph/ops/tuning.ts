/**
 * Formulation switches of the training graphs, in one place so a bench can build the same
 * network both ways in one process and time them side by side (bench/ab-step.ts). The defaults
 * are the measured choices; each is explained where it is read.
 */
export const engineTuning = {
  /** conv.ts: convs with at most this many output positions per image run as one batch-wide GEMM. */
  foldMaxPositions: 196,
  /** conv.ts: ... and at least this many output channels (im2col costs 9x the input per conv; the GEMM amortizes it over the channels). */
  foldMinChannels: 0,
  /** conv.ts: stride-1 dX as batch columns too, from this many input channels. */
  dxFoldMinChannels: 0,
  /** conv.ts: how im2col columns are made: shifted Slices + Concat, or one grouped Conv with one-hot kernels. */
  im2col: 'slices' as 'slices' | 'one-hot-conv',
  /** norm.ts: frozen BN after a conv in a training graph folded into the conv's weight and bias. */
  foldFrozenBatchNorm: true,
};
