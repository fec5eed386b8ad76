export { CallbackList } from './callback.js';
export type { Callback, EpochEnd, EpochRecord, StopRequest, TrainBatch, TrainingRun } from './callback.js';
export { Checkpoints, type CheckpointOptions } from './checkpoints.js';
export { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
export { NonFiniteGuard } from './non-finite-guard.js';
export { ProgressBar } from './progress-bar.js';
export { DashboardUpdates, RunRecordWriter } from './run-record.js';
export { StopOnAbort } from './stop-on-abort.js';
export { TutorialLog } from './tutorial-log.js';
