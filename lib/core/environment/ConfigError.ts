import { SluiceError } from '../errors/SluiceError.js';

/** Raised at cold start when the environment is missing or has a bad value; names the variable and the value. */
export class ConfigError extends SluiceError {}
