import type { z } from 'zod';

/** Most zod issues named in one message; the rest are counted. */
const MAX_ISSUES_DESCRIBED = 5;

/** How {@link describeIssues} writes. */
export interface DescribeIssuesOptions {
  /** The value that was parsed: each issue then says what it got there (`; got 3`). @default not said */
  readonly input?: unknown;
  /** Between issues. @default '; ' */
  readonly separator?: string;
}

/**
 * The one formatter of zod issues: each bad field named by its path, for error messages of requests, manifests,
 * states, events and configuration alike (environment variables go through `parseEnvironment`, which names the
 * variable the same way).
 *
 * @example
 * describeIssues(z.object({ a: z.number() }).safeParse({ a: 'x' }).error!, { input: { a: 'x' } });
 * // 'a: Invalid input: expected number, received string; got "x"'
 */
export function describeIssues(error: z.ZodError, options: DescribeIssuesOptions = {}): string {
  const described = error.issues.slice(0, MAX_ISSUES_DESCRIBED).map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    const got =
      'input' in options ? `; got ${JSON.stringify(valueAt(options.input, issue.path)) ?? 'nothing'}` : '';
    return `${path ? `${path}: ` : ''}${issue.message}${got}`;
  });
  const more = error.issues.length - MAX_ISSUES_DESCRIBED;
  if (more > 0) described.push(`and ${more} more`);
  return described.join(options.separator ?? '; ');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
