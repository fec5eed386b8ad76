/** Training health: a non-finite loss stops the run with the step and the first tensor affected. */
export class NonFiniteLossError extends Error {
  constructor(readonly epoch: number, readonly step: number, readonly loss: number, readonly firstAffected: string | null) {
    super(`loss became ${loss} at epoch ${epoch}, step ${step}${firstAffected ? `; first non-finite tensor: ${firstAffected}` : ''}; try a lower learning rate`);
    this.name = 'NonFiniteLossError';
  }
}

/** Name of the first tensor holding NaN or Inf, in the given order. */
export function firstNonFinite(tensors: Iterable<[string, Float32Array]>): string | null {
  for (const [name, data] of tensors) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return name;
  }
  return null;
}

/** The loss stayed finite but an update left a weight, BN statistic or optimizer state non-finite. */
export class NonFiniteStateError extends Error {
  constructor(readonly epoch: number, readonly step: number, readonly firstAffected: string) {
    super(`${firstAffected} became non-finite in epoch ${epoch} (by step ${step}) while the loss was still finite; the checkpoints keep the last finite epoch; try a lower learning rate`);
    this.name = 'NonFiniteStateError';
  }
}
