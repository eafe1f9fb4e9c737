import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { describeIssues } from '../core/errors/describe-issues.js';
import {
  CrossSiteRequestError,
  InvalidRequestError,
  MethodNotAllowedError,
  RouteNotFoundError,
} from '../core/errors/request-errors.js';
import type { GateThresholds } from '../core/gates/version-gates.js';
import { MODEL_NAME_PATTERN } from '../core/manifest/ModelManifest.js';
import { assertValidPlan } from '../core/rollout/plan-rollout.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { RolloutPlan } from '../core/rollout/RolloutPlan.js';
import type { DriftTallies } from '../core/stats/drift.js';
import type { RolloutControl } from '../rollout/RolloutControl.js';
import type { LocalReply, LocalRequest, LocalRoute } from './ApiGatewayEmulator.js';
import type { HealthWindow } from './HealthWindow.js';
import type { LocalLogBuffer } from './LocalLogBuffer.js';
import {
  CONTROL_TOKEN_HEADER,
  DeployCommandSchema,
  type LocalHealthResponse,
  type LocalLogsResponse,
  LocalRoutePath,
  type LocalTrafficResponse,
  PromoteCommandSchema,
  RollbackCommandSchema,
  RolloutCommand,
} from './local-routes.js';

/** Version numbers in the local routes' query strings. */
const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;

/** Epoch milliseconds in the health route's `since`. */
const EPOCH_MS_PATTERN = /^[0-9]{1,16}$/;

/** A line number in the logs route's `after`. */
const LINE_NUMBER_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** What the local routes read and act through. */
export interface LocalControlRoutesDeps {
  /** Outcomes of every inference the stack served. */
  readonly health: HealthWindow;
  /** The stack's drift tallies, for the traffic route's figures. */
  readonly drift?: Pick<DriftTallies, 'figures'>;
  /** The limits the health route judges against. */
  readonly thresholds: GateThresholds;
  /** The stack's rollout control acting as `actor` (the one writer of the stack's rollout states). */
  readonly control: (actor: string) => RolloutControl;
  /** The clock, epoch milliseconds. */
  readonly now: () => number;
  /** The stack's own origins (`http://127.0.0.1:3000`, `http://localhost:3000`), the only ones whose pages may send commands. */
  readonly origins: () => readonly string[];
  /** The per-start token every command must carry in {@link CONTROL_TOKEN_HEADER}. */
  readonly token: string;
  /** The lines the stack logged, for the logs route; without it the route answers none. */
  readonly logs?: Pick<LocalLogBuffer, 'read' | 'newest'>;
}

/**
 * The local stack's control routes, outside the API contract: the health window, observed split and log lines (read
 * only), and a model's rollout, whose commands (`POST`) the stack carries out itself, so its rollout states have one
 * writer and the next request routes by what a command wrote. Every failure is a domain error, answered by the one
 * status table (400 bad input, 403 cross-site, 404, 409 refused by the rollout's state).
 *
 * Any web page the user opens can send requests to 127.0.0.1, so a command must carry the stack's per-start token
 * (which only the user's own `sluice` and, with --allow-actions, the stack's own console page can read), come as
 * `application/json` (a content type a cross-site form cannot send, and a cross-site script may send only after a
 * CORS preflight, which the stack never approves) and, when the request names an `Origin`, from the stack's own.
 * The stack checks the Host of all its own routes besides (see `hostGuarded`).
 *
 * @example
 * const routes = localControlRoutes({ health, thresholds, control, now: Date.now, origins: () => [api.url], token });
 */
export function localControlRoutes(deps: LocalControlRoutesDeps): Record<string, LocalRoute> {
  return {
    [`${LocalRoutePath.HEALTH}*`]: { methods: ['GET'], answer: (request) => healthRoute(deps, request) },
    [LocalRoutePath.TRAFFIC]: { methods: ['GET'], answer: (request) => trafficRoute(deps, request) },
    [LocalRoutePath.LOGS]: { methods: ['GET'], answer: (request) => logsRoute(deps, request) },
    ...rolloutRoutes(deps),
  };
}

/** What {@link rolloutRoutes} acts through. */
export type RolloutRoutesDeps = Pick<LocalControlRoutesDeps, 'control' | 'origins' | 'token'>;

/**
 * `GET /_sluice/rollouts/{model}` and `POST /_sluice/rollouts/{model}/{deploy|promote|rollback}` on a rollout control:
 * the local stack's own, or (`sluice console` on AWS) the CLI's engine on the deployed stack; commands refused as
 * {@link localControlRoutes} says unless they carry the token, as JSON, from one of `origins`.
 *
 * @example
 * const routes = rolloutRoutes({ control: (actor) => controlAs(actor), origins: () => [url], token });
 */
export function rolloutRoutes(deps: RolloutRoutesDeps): Record<string, LocalRoute> {
  return {
    [`${LocalRoutePath.ROLLOUTS}*`]: {
      methods: ['GET', 'POST'],
      answer: (request) => rolloutRoute(deps, request),
    },
  };
}

/**
 * `GET /_sluice/health/{model}?version=N[&since=MS][&stable=N]`: the health window's verdict on one version, with
 * the evidence since `since` (the step's start) and its refused inputs compared with `stable`'s.
 */
function healthRoute(deps: LocalControlRoutesDeps, request: LocalRequest): LocalReply {
  const model = modelOf(request.path.slice(LocalRoutePath.HEALTH.length));
  const version = request.query.get('version') ?? '';
  if (!VERSION_PATTERN.test(version)) {
    throw new InvalidRequestError(`version must be a version number (1, 2, 3, ...); got "${version}"`);
  }
  const since = request.query.get('since');
  if (since !== null && !EPOCH_MS_PATTERN.test(since)) {
    throw new InvalidRequestError(`since must be epoch milliseconds; got "${since}"`);
  }
  const stable = request.query.get('stable');
  if (stable !== null && !VERSION_PATTERN.test(stable)) {
    throw new InvalidRequestError(`stable must be a version number (1, 2, 3, ...); got "${stable}"`);
  }
  const report = deps.health.judge(model, Number(version), deps.thresholds, deps.now(), {
    ...(since === null ? {} : { sinceMs: Number(since) }),
    ...(stable === null ? {} : { stable: Number(stable) }),
  });
  const body: LocalHealthResponse = {
    model,
    version: Number(version),
    verdict: report.verdict,
    reasons: report.reasons,
    requests: { ...report.requests },
    ...(report.candidateRequests === undefined ? {} : { candidateRequests: report.candidateRequests }),
    windowMs: deps.health.windowMs,
  };
  return jsonReply(body);
}

/**
 * `GET /_sluice/traffic?model=M`: requests per version the local alias routed in the health window, and each
 * version's latest drift figure.
 */
function trafficRoute(deps: LocalControlRoutesDeps, request: LocalRequest): LocalReply {
  const model = request.query.get('model') ?? '';
  if (!MODEL_NAME_PATTERN.test(model))
    throw new InvalidRequestError(`model must be a model name; got "${model}"`);
  const body: LocalTrafficResponse = {
    model,
    requests: deps.health.requests(model, deps.now()),
    windowMs: deps.health.windowMs,
    ...(deps.drift ? { drift: deps.drift.figures(model) } : {}),
  };
  return jsonReply(body);
}

/**
 * `GET /_sluice/logs?model=M[&version=N][&after=SEQ]`: the lines the stack logged naming the model (and the version,
 * as the version served or a rollout's stable or candidate) after line `after`, oldest first, with the number of
 * the newest line the stack logged, for `sluice logs --local` (and `--follow`, which asks again after it).
 */
function logsRoute(deps: LocalControlRoutesDeps, request: LocalRequest): LocalReply {
  const model = request.query.get('model') ?? '';
  if (!MODEL_NAME_PATTERN.test(model))
    throw new InvalidRequestError(`model must be a model name; got "${model}"`);
  const version = request.query.get('version');
  if (version !== null && !VERSION_PATTERN.test(version)) {
    throw new InvalidRequestError(`version must be a version number (1, 2, 3, ...); got "${version}"`);
  }
  const after = request.query.get('after');
  if (after !== null && !LINE_NUMBER_PATTERN.test(after)) {
    throw new InvalidRequestError(`after must be a line number (0, 1, 2, ...); got "${after}"`);
  }
  const body: LocalLogsResponse = {
    model,
    lines:
      deps.logs?.read({
        model,
        ...(version === null ? {} : { version: Number(version) }),
        ...(after === null ? {} : { after: Number(after) }),
      }) ?? [],
    newest: deps.logs?.newest ?? 0,
  };
  return jsonReply(body);
}

/** `GET /_sluice/rollouts/{model}` and `POST /_sluice/rollouts/{model}/{command}`. */
async function rolloutRoute(deps: RolloutRoutesDeps, request: LocalRequest): Promise<LocalReply> {
  const [encodedModel = '', command, ...rest] = request.path.slice(LocalRoutePath.ROLLOUTS.length).split('/');
  const model = modelOf(encodedModel);
  if (rest.length > 0) throw new RouteNotFoundError(`no local route ${request.path}`);
  if (command === undefined) {
    if (request.method === 'POST') throw new MethodNotAllowedError('POST', request.path, ['GET']);
    return jsonReply(await deps.control('local-stack').status(model));
  }
  if (!Object.values(RolloutCommand).includes(command as RolloutCommand)) {
    throw new RouteNotFoundError(
      `no rollout command "${command}"; POST one of ${Object.values(RolloutCommand).join(', ')}`,
    );
  }
  if (request.method !== 'POST') throw new MethodNotAllowedError(request.method, request.path, ['POST']);
  refuseCrossSite(deps, request);
  switch (command as RolloutCommand) {
    case RolloutCommand.DEPLOY: {
      const body = parseBody(request, DeployCommandSchema);
      const state = await deps
        .control(body.actor)
        .deploy(model, { version: body.version, plan: planOf(body.plan) });
      return jsonReply({ state });
    }
    case RolloutCommand.PROMOTE: {
      const body = parseBody(request, PromoteCommandSchema);
      const state = await deps
        .control(body.actor)
        .promote(model, body.weight === undefined ? {} : { weight: body.weight });
      return jsonReply({ state });
    }
    case RolloutCommand.ROLLBACK: {
      const body = parseBody(request, RollbackCommandSchema);
      return jsonReply({ state: await deps.control(body.actor).rollback(model, body.reason) });
    }
  }
}

/** Refuses a command a web page of another origin (or a plain form) could have sent; see {@link localControlRoutes}. */
function refuseCrossSite(deps: RolloutRoutesDeps, request: LocalRequest): void {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new CrossSiteRequestError(
      `rollout commands take Content-Type: application/json; got ${JSON.stringify(contentType || null)}`,
    );
  }
  const token = request.headers[CONTROL_TOKEN_HEADER];
  if (typeof token !== 'string' || !sameSecret(token, deps.token)) {
    throw new CrossSiteRequestError(
      `rollout commands carry the local stack's control token in ${CONTROL_TOKEN_HEADER} (sluice --local reads it from the stack's data folder); ${token === undefined ? 'none was sent' : "the one sent is not this start's"}`,
    );
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !deps.origins().includes(origin)) {
    throw new CrossSiteRequestError(
      `a rollout command from ${JSON.stringify(origin)} is refused: only the local stack's own origin may send one`,
    );
  }
}

/** Whether two secrets are equal, compared in a time that does not tell how much of them matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function parseBody<T>(request: LocalRequest, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(request.body);
  } catch (error) {
    throw new InvalidRequestError(`the body is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidRequestError(`invalid command: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A command's plan, checked as the engine checks it; a plan it would refuse is bad input (400), not a conflict. */
function planOf(plan: unknown): RolloutPlan {
  try {
    return assertValidPlan(plan);
  } catch (error) {
    if (error instanceof RolloutError) throw new InvalidRequestError(`invalid plan: ${error.message}`);
    throw error;
  }
}

/** A model name from a path segment; a bad one is a 400 naming it. */
function modelOf(encoded: string): string {
  let model: string | undefined;
  try {
    model = decodeURIComponent(encoded);
  } catch {
    model = undefined;
  }
  if (model === undefined || !MODEL_NAME_PATTERN.test(model)) {
    throw new InvalidRequestError(`not a model name: "${encoded}"`);
  }
  return model;
}

function jsonReply(body: object): LocalReply {
  return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
}
