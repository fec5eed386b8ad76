import { writeRunRecord, type EpochRecord as RunEpoch, type RunRecord } from '../../report/run-record.js';
import type { Dashboard } from '../../report/dashboard.js';
import type { Callback, EpochEnd, EpochRecord } from './callback.js';

function toRunEpoch(record: EpochRecord): RunEpoch {
  const { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, epochMs, stepMs, dataWaitMs, cpuMs } = record;
  return {
    epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, epochMs, stepMs,
    ...(dataWaitMs === undefined ? {} : { dataWaitMs }), ...(cpuMs === undefined ? {} : { cpuMs }),
  };
}

/**
 * Keeps run.json current: the run's configuration, class names and one entry per finished
 * epoch (a resumed run replaces the epochs it repeats), written atomically after each epoch.
 */
export class RunRecordWriter implements Callback {
  private history: RunEpoch[];

  /** `current` adds what changes during the run besides the history (the data files skipped so far). */
  constructor(
    readonly runDir: string,
    private readonly base: Omit<RunRecord, 'history'>,
    history: RunEpoch[] = [],
    private readonly current: () => Partial<Omit<RunRecord, 'history'>> = () => ({}),
  ) {
    this.history = history;
  }

  /** The record as it stands, for the writes after training (evaluation, images). */
  record(): RunRecord {
    return { ...this.base, ...this.current(), history: this.history };
  }

  write(): Promise<void> {
    return writeRunRecord(this.runDir, this.record());
  }

  async onEpochEnd(_run: unknown, { record }: EpochEnd): Promise<void> {
    this.history = [...this.history.filter((h) => h.epoch < record.epoch), toRunEpoch(record)];
    await this.write();
  }
}

/** Tells the live dashboard's open pages to reload after each epoch (run.json has just changed). */
export class DashboardUpdates implements Callback {
  constructor(private readonly dashboard: Dashboard) {}

  onEpochEnd(): void {
    this.dashboard.notifyUpdate();
  }
}
