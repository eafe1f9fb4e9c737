/** Base class of every error sluice raises on purpose; `cause` keeps the underlying error. */
export class SluiceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
