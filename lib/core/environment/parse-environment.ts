import type { z } from 'zod';

/**
 * Parses environment variables against a schema, once at cold start; on a bad value throws the error `fail`
 * makes from a message naming the variable and the value it got (the zod error kept as its cause).
 *
 * @example
 * const values = parseEnvironment(EnvSchema, process.env, (message, options) => new ConfigError(message, options));
 */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined>,
  fail: (message: string, options: { cause: unknown }) => Error,
): z.infer<Schema> {
  // Once a process: without the parser zod would compile for the schema, which costs more than it saves (as
  // ModelRegistry's manifest parse measured).
  const parsed = schema.safeParse(env, { jitless: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw fail(`${variable} ${issue?.message ?? 'is invalid'}; got ${JSON.stringify(env[variable] ?? null)}`, {
    cause: parsed.error,
  });
}
