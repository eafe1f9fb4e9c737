import cliProgress from 'cli-progress';
import type { CliIo } from './cli-io.js';

/** Reports upload progress: a bar on a terminal, nothing otherwise. */
export interface ProgressReporter {
  readonly update: (loaded: number, total: number) => void;
  readonly stop: () => void;
}

/** Smallest upload worth a progress bar, in bytes. */
export const PROGRESS_BAR_MIN_BYTES = 1024 * 1024;

/** Creates a progress reporter that draws on stderr only when it is a terminal and output is not JSON. */
export function createProgressReporter(io: CliIo, enabled: boolean): ProgressReporter {
  if (!enabled || !io.interactive) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (loaded, total) => {
      if (total < PROGRESS_BAR_MIN_BYTES) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: 'uploading [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(mib(total), 0);
      }
      bar.update(mib(loaded));
    },
    stop: () => bar?.stop(),
  };
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
