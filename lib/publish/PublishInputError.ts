import { SluiceError } from '../core/errors/SluiceError.js';

/**
 * What was asked to be published is wrong before any model is read: a file that cannot be read, an extras file
 * that does not parse, labels or a description that do not fit. The message names the file or the option; the CLI
 * exits 2 (usage) on it.
 */
export class PublishInputError extends SluiceError {}
