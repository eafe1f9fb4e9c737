import type { z } from 'zod';
import { describeIssues } from '../core/errors/describe-issues.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import type { ObservedTraffic } from '../core/rollout/RolloutTarget.js';
import type { RolloutControl } from '../rollout/RolloutControl.js';
import type { DeployOptions, RolloutStatusReport } from '../rollout/RolloutEngine.js';
import {
  CONTROL_TOKEN_HEADER,
  LocalTrafficResponseSchema,
  localRolloutPath,
  localTrafficPath,
  RolloutCommand,
  RolloutCommandResponseSchema,
  RolloutStatusResponseSchema,
} from './local-routes.js';

/**
 * Longest one request to the local stack may take: a deploy loads the version and runs its golden examples, and
 * the first request to a big model's version loads it.
 */
export const LOCAL_CONTROL_TIMEOUT_MS = 120_000;

/** Longest piece of an answer quoted in an error. */
const MAX_QUOTED_CHARS = 300;

/** Options of {@link StackRolloutClient}. */
export interface StackRolloutClientOptions {
  /** The running local stack's API URL, e.g. `http://127.0.0.1:3000`. */
  readonly apiUrl: string;
  /** Who acts, recorded in the events the stack writes (`cli`). */
  readonly actor: string;
  /** The stack's control token, from its file in the data folder (see `CONTROL_TOKEN_HEADER`). */
  readonly controlToken: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default LOCAL_CONTROL_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * `sluice --local`'s rollout control: asks the running local stack, which owns its rollout states, to carry out each
 * command (`/_sluice/rollouts/{model}`), so the stack stays the one writer and routes the next request by what the
 * command wrote. A refusal comes back as {@link RolloutError} with the stack's own message.
 *
 * @example
 * const control = new StackRolloutClient({ apiUrl: info.apiUrl, actor: 'cli', controlToken: info.controlToken });
 * await control.rollback('iris', 'wrong labels');
 */
export class StackRolloutClient implements RolloutControl {
  readonly #apiUrl: string;
  readonly #actor: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: StackRolloutClientOptions) {
    this.#apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#actor = options.actor;
    this.#token = options.controlToken;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? LOCAL_CONTROL_TIMEOUT_MS;
  }

  async current(model: string): Promise<RolloutState | undefined> {
    return (await this.status(model)).state;
  }

  async deploy(model: string, options: DeployOptions): Promise<RolloutState> {
    return this.#command(model, RolloutCommand.DEPLOY, { version: options.version, plan: options.plan });
  }

  async promote(model: string, options: { readonly weight?: number }): Promise<RolloutState> {
    return this.#command(
      model,
      RolloutCommand.PROMOTE,
      options.weight === undefined ? {} : { weight: options.weight },
    );
  }

  async rollback(model: string, reason: string): Promise<RolloutState> {
    return this.#command(model, RolloutCommand.ROLLBACK, { reason });
  }

  async status(model: string): Promise<RolloutStatusReport> {
    const report = await this.#send('GET', localRolloutPath(model), undefined, RolloutStatusResponseSchema);
    return {
      ...(report.state === undefined ? {} : { state: report.state }),
      ...(report.health === undefined ? {} : { health: report.health }),
      decision: report.decision,
      history: report.history,
    };
  }

  async traffic(model: string): Promise<ObservedTraffic> {
    const report = await this.#send('GET', localTrafficPath(model), undefined, LocalTrafficResponseSchema);
    return {
      requests: report.requests,
      windowMs: report.windowMs,
      ...(report.drift === undefined ? {} : { drift: report.drift }),
    };
  }

  async #command(model: string, command: RolloutCommand, body: object): Promise<RolloutState> {
    const path = localRolloutPath(model, command);
    const answer = await this.#send(
      'POST',
      path,
      { actor: this.#actor, ...body },
      RolloutCommandResponseSchema,
    );
    return answer.state;
  }

  async #send<T>(
    method: 'GET' | 'POST',
    path: string,
    body: object | undefined,
    schema: z.ZodType<T>,
  ): Promise<T> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#apiUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined
          ? {}
          : {
              body: JSON.stringify(body),
              headers: { 'content-type': 'application/json', [CONTROL_TOKEN_HEADER]: this.#token },
            }),
      });
    } catch (error) {
      throw new RolloutError(
        `cannot reach the local stack at ${this.#apiUrl} (${error instanceof Error ? error.message : String(error)}); is \`npm start\` running?`,
        { cause: error },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RolloutError(`the local stack answered ${method} ${path} with no JSON: ${quote(text)}`);
    }
    if (!response.ok) {
      const error = (json as { error?: unknown } | null)?.error;
      // The stack's own message (a refused deploy, an unknown model) is the whole story.
      throw new RolloutError(
        typeof error === 'string' ? error : `the local stack answered ${response.status}: ${quote(text)}`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new RolloutError(
        `the local stack answered ${method} ${path} unexpectedly: ${describeIssues(parsed.error)} (is it an older sluice?)`,
      );
    }
    return parsed.data;
  }
}

function quote(text: string): string {
  if (text === '') return '(empty)';
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
}
