/** Node's error codes for a peer that is not there or went away mid-request. */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** How deep into `cause` chains and AggregateErrors the search goes; SDK errors nest two or three levels. */
const MAX_CAUSE_DEPTH = 8;

/**
 * The connection error behind a failure (`connect ECONNREFUSED 127.0.0.1:4569`), looking through `cause` chains
 * and AggregateErrors as the SDK and Node's happy-eyeballs connect produce them; undefined for any other failure.
 *
 * @example
 * connectionFailure(error)?.code; // 'ECONNREFUSED'
 */
export function connectionFailure(error: unknown, depth = 0): NodeJS.ErrnoException | undefined {
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return error as NodeJS.ErrnoException;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = connectionFailure(inner, depth + 1);
      if (found) return found;
    }
  }
  return connectionFailure(error.cause, depth + 1);
}
