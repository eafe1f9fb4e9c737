/**
 * The model version a Lambda version serves, read from its environment. The contract itself lives in
 * lib/config/function-environment.ts; these names are kept for the control plane's callers.
 */
export {
  InvalidModelIdentityError as InvalidTargetError,
  type ModelIdentity as TargetModel,
  readModelIdentity as readTargetModel,
} from '../config/function-environment.js';
