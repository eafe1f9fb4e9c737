import { SluiceError } from '../errors/SluiceError.js';

/** A deployment's AppSpec is missing, does not parse, or does not describe one Lambda alias shift. */
export class InvalidAppSpecError extends SluiceError {}

/** The version a deployment shifts to is not a sluice predict function: its environment lacks or garbles the model it serves. */
export class InvalidTargetError extends SluiceError {}
