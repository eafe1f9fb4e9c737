import type { InferenceSession } from 'onnxruntime-node';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';

/** A model version ready to serve: its verified manifest and its onnxruntime session. */
export interface LoadedModel {
  readonly manifest: ModelManifest;
  readonly session: InferenceSession;
  /** Milliseconds spent fetching, verifying and creating the session. */
  readonly loadMs: number;
}
