import { fileURLToPath } from 'node:url';

/** Absolute paths of the Lambda entries in functions/. */
export const FunctionEntry = {
  PREDICT: fileURLToPath(new URL('../../../functions/predict/index.ts', import.meta.url)),
  RELEASE: fileURLToPath(new URL('../../../functions/release/index.ts', import.meta.url)),
  ROLLOUT_DRIVER: fileURLToPath(new URL('../../../functions/rollout-driver/index.ts', import.meta.url)),
  ALARM_ROLLBACK: fileURLToPath(new URL('../../../functions/alarm-rollback/index.ts', import.meta.url)),
} as const;
