import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import type { AppLogger } from '../serving/InferenceApp.js';

/** Log lines the local stack keeps for `sluice logs --local`: a few minutes of a busy stack's refusals and steps. */
export const LOCAL_LOG_LINES = 5_000;

/** Lines one read of {@link LocalLogBuffer.read} returns at most. */
export const MAX_LOG_LINES_PER_READ = 1_000;

/** The levels a kept line has (DEBUG lines are passed on, not kept). */
export type LocalLogLevel = 'INFO' | 'WARN' | 'ERROR';

/** One line the local stack logged, as `sluice logs --local` reads it. */
export interface LocalLogLine {
  /** Position in the stack's log since it started, from 1: a reader asks for the lines after the last it saw. */
  readonly seq: number;
  /** ISO time. */
  readonly at: string;
  readonly level: LocalLogLevel;
  readonly message: string;
  /** The line's attributes (model, version, status, requestId, ...), errors as their name and message. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** What {@link LocalLogBuffer.read} is asked for. */
export interface LogQuery {
  /** Lines naming this model (`model` attribute). */
  readonly model: string;
  /** Lines naming this version of it (`version`, `stable` or `candidate` attribute). @default any version */
  readonly version?: number;
  /** Lines after this one. @default from the oldest kept */
  readonly after?: number;
  /** At most this many, the newest. @default MAX_LOG_LINES_PER_READ */
  readonly limit?: number;
}

/**
 * The local stack's logger: every line goes to the logger it wraps (stdout, as on Lambda) and is also kept, the
 * newest {@link LOCAL_LOG_LINES}, for `sluice logs --local` (`GET /_sluice/logs`), the local counterpart of the
 * function's CloudWatch log group. It keeps what the stack logs and nothing more: no request payloads.
 *
 * @example
 * const logger = new LocalLogBuffer(new Logger({ serviceName: 'sluice-local' }));
 * logger.info('request refused', { model: 'iris', version: 2, status: 400 });
 * logger.read({ model: 'iris', version: 2 }); // [{ seq: 1, level: 'INFO', message: 'request refused', ... }]
 */
export class LocalLogBuffer implements AppLogger {
  readonly #inner: AppLogger;
  readonly #capacity: number;
  readonly #now: () => number;
  #lines: LocalLogLine[] = [];
  #seq = 0;

  constructor(inner: AppLogger, options: { readonly capacity?: number; readonly now?: () => number } = {}) {
    this.#inner = inner;
    this.#capacity = options.capacity ?? LOCAL_LOG_LINES;
    this.#now = options.now ?? Date.now;
  }

  debug(input: LogItemMessage, ...extra: LogItemExtraInput): void {
    this.#inner.debug(input, ...extra);
  }

  info(input: LogItemMessage, ...extra: LogItemExtraInput): void {
    this.#keep('INFO', input, extra);
    this.#inner.info(input, ...extra);
  }

  warn(input: LogItemMessage, ...extra: LogItemExtraInput): void {
    this.#keep('WARN', input, extra);
    this.#inner.warn(input, ...extra);
  }

  error(input: LogItemMessage, ...extra: LogItemExtraInput): void {
    this.#keep('ERROR', input, extra);
    this.#inner.error(input, ...extra);
  }

  /** The kept lines of a model (and version) after `after`, oldest first; at most `limit`, the newest. */
  read(query: LogQuery): LocalLogLine[] {
    const after = query.after ?? 0;
    const matching = this.#lines.filter(
      (line) =>
        line.seq > after &&
        line.fields.model === query.model &&
        (query.version === undefined || namesVersion(line.fields, query.version)),
    );
    return matching.slice(-(query.limit ?? MAX_LOG_LINES_PER_READ));
  }

  /** The number of the newest line logged (0 before any): read after it for what comes next. */
  get newest(): number {
    return this.#seq;
  }

  #keep(level: LocalLogLevel, input: LogItemMessage, extra: LogItemExtraInput): void {
    const fields: Record<string, unknown> = {};
    let message: string;
    if (typeof input === 'string') {
      message = input;
    } else {
      const { message: text, ...rest } = input;
      message = String(text);
      Object.assign(fields, jsonSafe(rest));
    }
    for (const item of extra) {
      if (item instanceof Error) fields.error = describeError(item);
      else if (typeof item === 'string') fields.extra = item;
      else Object.assign(fields, jsonSafe(item));
    }
    this.#seq += 1;
    this.#lines.push({ seq: this.#seq, at: new Date(this.#now()).toISOString(), level, message, fields });
    // Trimmed in batches, so a busy stack does not shift the array on every line.
    if (this.#lines.length > this.#capacity * 1.1) this.#lines = this.#lines.slice(-this.#capacity);
  }
}

/** Whether a line's attributes name the version: as the version it served, or as a rollout's stable or candidate. */
function namesVersion(fields: Readonly<Record<string, unknown>>, version: number): boolean {
  return [fields.version, fields.stable, fields.candidate].some((value) => Number(value) === version);
}

/** Attributes as JSON would carry them: errors as name and message, anything unserialisable as its text. */
function jsonSafe(attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const safe: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value instanceof Error) {
      safe[name] = describeError(value);
      continue;
    }
    try {
      safe[name] = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
    } catch {
      safe[name] = String(value);
    }
  }
  return safe;
}

function describeError(error: Error): { readonly name: string; readonly message: string } {
  return { name: error.name, message: error.message };
}
