import { MODEL_NAME_PATTERN } from '../core/manifest/ModelManifest.js';
import { populationStability } from '../core/stats/drift.js';
import type { InferenceEngine } from '../serving/InferenceEngine.js';
import type { HealthWindow } from './HealthWindow.js';

/** How far back the drift figure of `/metrics` looks, in milliseconds: long enough for a few hundred answers. */
export const DRIFT_WINDOW_MS = 15 * 60_000;

/** One version's drift figure. */
export interface DriftFigure {
  readonly model: string;
  readonly version: number;
  readonly psi: number;
}

/**
 * The drift of every loaded version that has a baseline (the classes it gave its reference set at publish): the
 * population stability index of the classes it answered to routed requests over the last {@link DRIFT_WINDOW_MS},
 * where it answered enough of them (see `populationStability`).
 *
 * @example
 * for (const { model, version, psi } of driftFigures(health, engine, Date.now(), ['iris'])) metrics.recordDrift(model, version, psi);
 */
export function driftFigures(
  health: HealthWindow,
  engine: Pick<InferenceEngine, 'peek'>,
  now: number,
  models: readonly string[],
): DriftFigure[] {
  const figures: DriftFigure[] = [];
  for (const model of models) {
    if (!MODEL_NAME_PATTERN.test(model)) continue;
    for (const version of health.versions(model)) {
      const baseline = engine.peek(model, version)?.manifest.reference?.classes;
      if (!baseline) continue;
      const psi = populationStability(
        baseline,
        health.figures(model, version, now - DRIFT_WINDOW_MS, now).classes,
      );
      if (psi !== undefined) figures.push({ model, version, psi });
    }
  }
  return figures;
}
