/**
 * Formulation switches of the training graphs, in one place so a bench can build the same
 * network both ways and time them side by side (bench/ab-step.ts, one process per variant). The
 * defaults are the measured choices; each is explained where it is read.
 *
 * A/B on 2026-12-01 (AMD EPYC, 2 cores, AVX-512 though first noted as AVX2; bench/ab-step.js
 * under nice -15 beside other jobs, medians of 8-10 steps, variants alternating in one process:
 * the earlier form of ab-step, whose shared process slowed every variant alike), all within the run-to-run noise
 * of about 5%: demo model b64 242 ms (defaults) vs 242 (dX by Conv everywhere), 237 (no batch
 * columns), 235 (batch columns only from 64 channels), 241 (batch columns up to 784 positions),
 * 334 vs 342 in another window (one-hot im2col); ResNet-18 224 b16 1749 ms vs 1859 (one-hot) and
 * 1818 (no batch columns); ResNet-50 b8 BN frozen 2002 ms folded vs 2000 unfolded. The im2col
 * traffic (9x the input per 3x3 conv) is the same in every form (one Gather with precomputed
 * indices, tried too, took 1.4-2.5x the slices' time on these shapes), and no standard ONNX op computes
 * a conv's weight gradient without it; the defaults stay as measured in the first round.
 *
 * Column order, 2026-12-01 (AMD EPYC with AVX-512, 2 cores, quiet: load 1; one process per variant,
 * bench/profile-step.js, medians of 8 steps, two alternating rounds): the batch innermost ('hwn')
 * took the demo model b64 from 192/180 ms to 165/159 ms, ResNet-18 224 b16 from 1553/1592 to
 * 1501/1501 ms and ResNet-50 b8 from 1692/1792 to 1629/1570 ms. ORT's Slice copies one contiguous
 * run per call of its inner loop: with [ci, n, h, w] a window's run is wo floats (4-28 here),
 * with [ci, h, w, n] it is wo*n; the profile's Slice time fell from 64 to 28 ms per demo step.
 * The layout changes are 2-D transposes ([n, chw] <-> [chw, n]), which ORT hands to MLAS.
 * Taking every weight gradient from these columns (dwBatchColumns, not only where the per-image
 * columns would move more floats) measured, three alternating rounds each: ResNet-18 224 b16
 * 1550/1563/1613 vs 1717/1619/1654 ms, ResNet-50 b8 1766/1860/2120 vs 1793/1922/1852, demo b64
 * 190-254 vs 177-273 (a noisy window); it takes layer1's dW off the short-run NCHW slices. For
 * 1x1 kernels it only added transposes: ORT's profile of a ResNet-50 step, Transpose 48 -> 115 ms
 * and the GEMMs +15 ms, so it applies to windowed kernels only; then ORT's kernel time per step
 * was ResNet-18 1614 vs 1624 ms and ResNet-50 1753 vs 1752 ms (on vs off): no measured gain, off.
 *
 * Not kept (2026-12-01, ORT profiles of ResNet-50 b8 steps, warm-up excluded): the strided 1x1
 * convs' dX as a 1x1 Conv with W^T whose output a Pad spaces onto the stride grid, instead of
 * ConvTranspose. The three ConvTranspose nodes took 41 ms per step; their replacement 90 ms (the
 * Convs 51, ORT's 6-D Pad 39 at ~2 GB/s). ConvTranspose's time is its GEMM.
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
  /** conv.ts: column order of the batch-wide im2col, [ci*kh*kw, n*ho*wo] or the batch innermost [ci*kh*kw, ho*wo*n]. */
  columnOrder: 'hwn' as 'nhw' | 'hwn',
  /** conv.ts: every windowed (kh*kw > 1) weight gradient from batch columns (otherwise per-image columns where they move fewer floats). */
  dwBatchColumns: false,
  /**
   * elementwise.ts maskedGradient (ReLU, ReLU6, Hardsigmoid): Where(mask, dy, 0) or dy * float(mask). Eight chained
   * backwards on [8, 256, 56, 56] (2026-12-01, medians of three sessions): Where 48-59 ms,
   * Cast + Mul 20-25 ms, Sign + Mul 25-29 ms; on [64, 16, 28, 28] 3.5-6.2 vs 1.2-3.0 ms; ORT's
   * Where has no vectorized fast path. A whole ResNet-50 step was within its noise (1811 vs 1825 ms).
   */
  reluBackward: 'cast-mul' as 'where' | 'cast-mul',
  /**
   * conv.ts: in training graphs on ORT's CPU, Conv nodes whose channels fill whole NCHWc blocks, up to this
   * many, run on ORT's blocked kernels (0: never). One conv alone, reorders included, one session per process
   * (2026-12-01, AMD EPYC AVX-512, block 16), ms: [64,16,28,28] 3.4/4.0 blocked vs 4.1/6.2 plain;
   * [8,64,56,56] 14.4/14.0 vs 14.9/16.0; [8,128,28,28] 11.7/11.1 vs 12.6/13.0. Whole steps, ab-step
   * --interleaved (per-step ratios to the first variant, two of each): the demo model (16 channels in
   * layer1) 0.938/0.908 blocked vs 1.000/1.030; ResNet-50 with every 64+ channel conv blocked 1.044/1.002
   * vs 1.000/1.016, ResNet-18 0.958/0.916 vs 1.000/0.900: no gain from 64 channels on, so they stay plain.
   */
  blockedConvMaxChannels: 32,
  /** norm.ts: frozen BN after a conv in a training graph folded into the conv's weight and bias. */
  foldFrozenBatchNorm: true,
};
