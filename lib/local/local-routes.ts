import { z } from 'zod';

/**
 * The local stack's own routes, outside the API contract (API Gateway has none of them): how a `sluice`
 * process talks to the local alias it cannot reach in memory.
 */
export const LocalRoutePath = {
  /** `GET /_sluice/health/{model}?version=N&since=MS&stable=N`: the health window's verdict on one version. */
  HEALTH: '/_sluice/health/',
  /** `GET /_sluice/refresh?model=M`: re-read the model's rollout state now, instead of within the routing TTL. */
  REFRESH: '/_sluice/refresh',
  /** `GET /_sluice/traffic?model=M`: requests per version the unversioned routes served in the health window. */
  TRAFFIC: '/_sluice/traffic',
} as const;
/** One local route path. */
export type LocalRoutePath = (typeof LocalRoutePath)[keyof typeof LocalRoutePath];

/** `GET /_sluice/health/{model}?version=N`: a HealthReport of the version, with the window it was judged on. */
export const LocalHealthResponseSchema = z.object({
  model: z.string(),
  version: z.number().int().positive(),
  verdict: z.enum(['healthy', 'unhealthy', 'unknown']),
  reasons: z.array(z.string()),
  /** Requests per version of the model in the window: the observed traffic split. */
  requests: z.record(z.string(), z.number().int().nonnegative()),
  /** Requests the alias routed to the version since `since`: the evidence a step needs. */
  candidateRequests: z.number().int().nonnegative().optional(),
  /** Length of the window, in milliseconds. */
  windowMs: z.number().int().positive(),
});
/** The body of the local health route. */
export type LocalHealthResponse = z.infer<typeof LocalHealthResponseSchema>;

/** `GET /_sluice/refresh?model=M`: the routing the stack applies after re-reading the state. */
export const LocalRefreshResponseSchema = z.object({
  model: z.string(),
  /** The version the unversioned routes serve outside the candidate's share; absent for an unknown model. */
  stable: z.number().int().positive().optional(),
  candidate: z.number().int().positive().optional(),
  weight: z.number().min(0).max(100),
});
/** The body of the local refresh route. */
export type LocalRefreshResponse = z.infer<typeof LocalRefreshResponseSchema>;

/** `GET /_sluice/traffic?model=M`: the traffic split the local alias produced, as the health window saw it. */
export const LocalTrafficResponseSchema = z.object({
  model: z.string(),
  /** Requests per version routed by the alias in the window, keyed by the version number. */
  requests: z.record(z.string(), z.number().int().nonnegative()),
  /** Length of the window, in milliseconds. */
  windowMs: z.number().int().positive(),
});
/** The body of the local traffic route. */
export type LocalTrafficResponse = z.infer<typeof LocalTrafficResponseSchema>;

/** The path of the health route for one version, with the evidence since `sinceMs` and `stable` to compare with. */
export function localHealthPath(
  model: string,
  version: number,
  options: { readonly sinceMs?: number; readonly stable?: number } = {},
): string {
  const since = options.sinceMs === undefined ? '' : `&since=${Math.floor(options.sinceMs)}`;
  const stable = options.stable === undefined ? '' : `&stable=${options.stable}`;
  return `${LocalRoutePath.HEALTH}${encodeURIComponent(model)}?version=${version}${since}${stable}`;
}

/** The path of the refresh route for one model. */
export function localRefreshPath(model: string): string {
  return `${LocalRoutePath.REFRESH}?model=${encodeURIComponent(model)}`;
}

/** The path of the traffic route for one model. */
export function localTrafficPath(model: string): string {
  return `${LocalRoutePath.TRAFFIC}?model=${encodeURIComponent(model)}`;
}
