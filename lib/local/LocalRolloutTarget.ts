import type { z } from 'zod';
import { describeIssues } from '../core/errors/describe-issues.js';
import { httpGoldenTransport } from '../core/golden/http-golden-transport.js';
import { type GoldenCheckResult, runGoldenCheck } from '../core/golden/run-golden-check.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type {
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  RolloutTarget,
  Routing,
} from '../core/rollout/RolloutTarget.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import {
  LocalHealthResponseSchema,
  LocalRefreshResponseSchema,
  LocalTrafficResponseSchema,
  localHealthPath,
  localRefreshPath,
  localTrafficPath,
} from './local-routes.js';

/** Longest one request to the local stack may take: the first request to a version loads it. */
export const LOCAL_TARGET_TIMEOUT_MS = 30_000;

/** Longest piece of an answer quoted in an error. */
const MAX_QUOTED_CHARS = 300;

/** Options of {@link LocalRolloutTarget}. */
export interface LocalRolloutTargetOptions {
  /** The running local stack's API URL, e.g. `http://127.0.0.1:3000`. */
  readonly apiUrl: string;
  /** Reads the candidate's manifest and its golden examples. */
  readonly registry: Pick<ModelRegistry, 'getManifest'>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default LOCAL_TARGET_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * Where a rollout acts on the local stack: over its HTTP API only, since `sluice` runs in another process.
 *
 * The local alias needs no write of its own: the stack routes by the rollout state the engine stores, and
 * {@link route} only asks it to re-read that state now rather than within its routing TTL. Health is the
 * stack's own health window, read from `GET /_sluice/health/{model}`.
 *
 * @example
 * const target = new LocalRolloutTarget({ apiUrl: 'http://127.0.0.1:3000', registry });
 * const engine = new RolloutEngine({ store, target, registry, actor: 'cli' });
 */
export class LocalRolloutTarget implements RolloutTarget {
  readonly #apiUrl: string;
  readonly #registry: Pick<ModelRegistry, 'getManifest'>;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: LocalRolloutTargetOptions) {
    this.#apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#registry = options.registry;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? LOCAL_TARGET_TIMEOUT_MS;
  }

  /** Loads the version in the stack; it must answer ready. */
  async prepare(model: string, version: number): Promise<PreparedVersion> {
    const reply = await this.#send(
      'GET',
      `/v2/models/${encodeURIComponent(model)}/versions/${version}/ready`,
    );
    if (reply.status !== 200) {
      throw new RolloutError(
        `${model} version ${version} is not ready in the local stack: answered ${reply.status}: ${quote(reply.body)}`,
      );
    }
    return { version };
  }

  /**
   * The release check over the local stack's HTTP API: each golden example posted to the version's own route,
   * `/v2/models/{m}/versions/{v}/infer` (its readiness without examples), judged as on AWS (runGoldenCheck).
   */
  async checkGolden(model: string, version: number): Promise<GoldenCheckResult> {
    const manifest = await this.#registry.getManifest(model, version);
    const versionPath = `/v2/models/${encodeURIComponent(model)}/versions/${version}`;
    return runGoldenCheck({
      manifest,
      expected: { model, version },
      transport: httpGoldenTransport({
        send: ({ method, path, body }) => this.#send(method, path, body),
        inferPath: `${versionPath}/infer`,
        readyPath: `${versionPath}/ready`,
        inputs: manifest.inputs,
        expected: { model, version },
      }),
    });
  }

  /** The stack routes by the stored state; this makes it re-read the state now. */
  async route(model: string, _routing: Routing): Promise<void> {
    await this.#json('GET', localRefreshPath(model), LocalRefreshResponseSchema);
  }

  /** The stack's health window's verdict on the candidate, with the requests per version it observed. */
  async health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport> {
    const report = await this.#json(
      'GET',
      localHealthPath(model, candidate, { sinceMs: query.sinceMs, stable: query.stable }),
      LocalHealthResponseSchema,
    );
    return {
      verdict: report.verdict,
      reasons: report.reasons,
      requests: report.requests,
      ...(report.candidateRequests === undefined ? {} : { candidateRequests: report.candidateRequests }),
    };
  }

  /** Requests per version the stack's local alias routed in its health window. */
  async traffic(model: string): Promise<ObservedTraffic> {
    const report = await this.#json('GET', localTrafficPath(model), LocalTrafficResponseSchema);
    return { requests: report.requests, windowMs: report.windowMs };
  }

  async #json<T>(method: 'GET', path: string, schema: z.ZodType<T>): Promise<T> {
    const reply = await this.#send(method, path);
    if (reply.status !== 200) {
      throw new RolloutError(
        `the local stack answered ${method} ${path} with ${reply.status}: ${quote(reply.body)}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(reply.body);
    } catch {
      throw new RolloutError(`the local stack answered ${method} ${path} with no JSON: ${quote(reply.body)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new RolloutError(
        `the local stack answered ${method} ${path} unexpectedly: ${describeIssues(parsed.error)} (is it an older sluice?)`,
      );
    }
    return parsed.data;
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
  ): Promise<{ status: number; body: string }> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#apiUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      });
    } catch (error) {
      throw new RolloutError(
        `cannot reach the local stack at ${this.#apiUrl} (${error instanceof Error ? error.message : String(error)}); is \`npm start\` running?`,
        { cause: error },
      );
    }
    return { status: response.status, body: await response.text() };
  }
}

function quote(text: string): string {
  if (text === '') return '(empty)';
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
}
