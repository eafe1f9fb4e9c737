import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { InvalidRequestError, RouteNotFoundError } from '../core/errors/request-errors.js';
import type { GateThresholds } from '../core/gates/version-gates.js';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import type { SeriesPoint } from '../core/metrics/series-point.js';
import type { RolloutStatusReport } from '../rollout/RolloutEngine.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { LocalReply, LocalRoute } from './ApiGatewayEmulator.js';
import {
  CONSOLE_DEFAULT_MINUTES,
  CONSOLE_MAX_MINUTES,
  CONSOLE_POINTS,
  type ConsoleState,
  LocalRoutePath,
} from './local-routes.js';

/** Who the console's promote and rollback name in the rollout history, locally and on AWS. */
export const CONSOLE_ACTOR = 'console';

/** The path of the console page. */
export const CONSOLE_PATH = '/';

/** The path of the interactive API docs page (Swagger UI over `GET /openapi.json`). */
export const DOCS_PATH = '/docs';

/** How often the console page reads the local stack's state: it answers from memory. */
export const CONSOLE_REFRESH_MS = 2_000;

/** Most versions of one model the console lists, newest first. */
const MAX_LISTED_VERSIONS = 20;

/** A page's name for its per-start control token, read by the console's script to send promote and rollback. */
export const CONTROL_TOKEN_META = 'sluice-control-token';

/**
 * What the console may load and where it may connect: only the stack's own scripts, styles and API, never framed
 * (a page that frames the console could trick a click on its buttons).
 */
const CONSOLE_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The docs page's: Swagger UI sets inline styles and shows data: images, and its form sends requests to the API. */
const DOCS_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const require = createRequire(import.meta.url);

/** The files under `/_sluice/assets/`, by name: the pages' own, and the libraries they use, from node_modules. */
const ASSETS: Readonly<Record<string, { readonly path: () => string; readonly type: string }>> = {
  'console.js': { path: () => pageFile('console.js'), type: 'text/javascript; charset=utf-8' },
  'console.css': { path: () => pageFile('console.css'), type: 'text/css; charset=utf-8' },
  'docs.js': { path: () => pageFile('docs.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': {
    path: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': {
    path: () => require.resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
  'swagger-ui-bundle.js': {
    path: () => require.resolve('swagger-ui-dist/swagger-ui-bundle.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'swagger-ui.css': {
    path: () => require.resolve('swagger-ui-dist/swagger-ui.css'),
    type: 'text/css; charset=utf-8',
  },
};

/** What the console reads. */
export interface ConsoleRoutesDeps {
  /** The models in the registry. */
  readonly models: () => Promise<string[]>;
  readonly registry: Pick<ModelRegistry, 'readManifests'>;
  /** A model's rollout, as `sluice status --local` reads it. */
  readonly status: (model: string) => Promise<RolloutStatusReport>;
  /** Each listed version's periods over `[from, to)`, by version number; versions with no figures may be left out. */
  readonly series: (
    model: string,
    versions: readonly number[],
    window: { readonly from: number; readonly to: number; readonly periodMs: number },
  ) => Promise<Record<string, SeriesPoint[]>>;
  /** Each version's latest drift figure per output. */
  readonly drift: (model: string) => Promise<Record<string, Record<string, number>>>;
  /** The gates' limits, when one set holds for every model (the local stack's). */
  readonly thresholds?: GateThresholds;
  /** Where the figures come from: the local stack, or an AWS deployment. */
  readonly source: 'local' | 'aws';
  /**
   * Periods per chart are whole multiples of this (CloudWatch keeps standard-resolution metrics per minute).
   * @default 1000
   */
  readonly periodStepMs?: number;
  /**
   * How often the page reads the state again.
   * @default CONSOLE_REFRESH_MS
   */
  readonly refreshMs?: number;
  /** The clock, epoch milliseconds. */
  readonly now: () => number;
  /** The per-start token the control routes ask for; given to the page only when `actions`. */
  readonly token: string;
  /** Whether the page offers promote and rollback (`npm start -- --allow-actions`). */
  readonly actions: boolean;
}

/**
 * The console (`GET /`), the API docs page (`GET /docs`), the state the console shows
 * (`GET /_sluice/console/state`) and their assets: plain pages and one small chart library (uPlot), served from the
 * project and node_modules, nothing from a CDN, so they work offline.
 *
 * @example
 * const routes = consoleRoutes({ models, registry, status, series, drift, now, token, actions: false, source: 'local' });
 */
export function consoleRoutes(deps: ConsoleRoutesDeps): Record<string, LocalRoute> {
  const files = new Map<string, Promise<Buffer>>();
  const read = (path: string): Promise<Buffer> => {
    let file = files.get(path);
    if (!file) {
      file = readFile(path);
      // A failed read is tried again next time, not kept.
      file.catch(() => files.delete(path));
      files.set(path, file);
    }
    return file;
  };
  return {
    [CONSOLE_PATH]: {
      methods: ['GET'],
      answer: async () => {
        const html = (await read(pageFile('index.html'))).toString('utf8');
        const meta = deps.actions ? `<meta name="${CONTROL_TOKEN_META}" content="${deps.token}">` : '';
        return page(html.replace('<!--control-token-->', meta), CONSOLE_SECURITY_POLICY);
      },
    },
    [DOCS_PATH]: {
      methods: ['GET'],
      answer: async () => page((await read(pageFile('docs.html'))).toString('utf8'), DOCS_SECURITY_POLICY),
    },
    [LocalRoutePath.CONSOLE_STATE]: {
      methods: ['GET'],
      answer: async (request) => {
        const minutes = request.query.get('minutes') ?? String(CONSOLE_DEFAULT_MINUTES);
        if (!/^[1-9][0-9]{0,2}$/.test(minutes) || Number(minutes) > CONSOLE_MAX_MINUTES) {
          throw new InvalidRequestError(
            `minutes must be a whole number from 1 to ${CONSOLE_MAX_MINUTES}; got "${minutes}"`,
          );
        }
        const state = await consoleState(deps, Number(minutes) * 60_000);
        return { status: 200, contentType: 'application/json', body: JSON.stringify(state) };
      },
    },
    [`${LocalRoutePath.ASSETS}*`]: {
      methods: ['GET'],
      answer: async (request) => {
        const name = request.path.slice(LocalRoutePath.ASSETS.length);
        const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
        if (!asset) throw new RouteNotFoundError(`no asset ${name}`);
        return {
          status: 200,
          contentType: asset.type,
          body: await read(asset.path()),
          headers: { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
        };
      },
    },
  };
}

/** What the console shows now: every model, its versions, rollout, and charts over the last `windowMs`. */
async function consoleState(deps: ConsoleRoutesDeps, windowMs: number): Promise<ConsoleState> {
  const now = deps.now();
  const step = deps.periodStepMs ?? 1_000;
  const periodMs = Math.max(step, Math.ceil(windowMs / CONSOLE_POINTS / step) * step);
  const from = now - periodMs * Math.max(1, Math.round(windowMs / periodMs));
  const names = (await deps.models()).sort();
  const models = await Promise.all(
    names.map(async (name) => {
      // A version whose manifest cannot be read is left out; the others are shown (as `sluice versions` does).
      const [read, rollout] = await Promise.all([deps.registry.readManifests(name), deps.status(name)]);
      const manifests = read
        .flatMap((entry) => (entry.manifest ? [entry.manifest] : []))
        .slice(-MAX_LISTED_VERSIONS)
        .reverse();
      const shown = manifests.map((manifest) => manifest.version);
      const [all, drift] = await Promise.all([
        deps.series(name, shown, { from, to: now, periodMs }),
        deps.drift(name),
      ]);
      const series: Record<string, SeriesPoint[]> = {};
      for (const [version, points] of Object.entries(all)) {
        if (points.some((point) => point.requests + point.direct + point.compared > 0))
          series[version] = points;
      }
      return {
        name,
        versions: manifests.map(listedVersion),
        rollout: rollout as ConsoleState['models'][number]['rollout'],
        series,
        drift,
      };
    }),
  );
  const thresholds = deps.thresholds;
  return {
    now,
    from,
    periodMs,
    ...(thresholds
      ? {
          thresholds: {
            errorRatePercent: thresholds.errorRatePercent,
            p99LatencyMs: thresholds.p99LatencyMs,
            invalidOutputs: thresholds.invalidOutputs,
            rejectedInputsPercent: thresholds.rejectedInputsPercent,
          },
        }
      : {}),
    actions: deps.actions,
    refreshMs: deps.refreshMs ?? CONSOLE_REFRESH_MS,
    source: deps.source,
    models,
  };
}

function listedVersion(manifest: ModelManifest): ConsoleState['models'][number]['versions'][number] {
  const tensor = ({ name, datatype, shape }: ModelManifest['inputs'][number]) => ({ name, datatype, shape });
  return {
    version: manifest.version,
    sha256: manifest.sha256,
    size: manifest.size,
    createdAt: manifest.createdAt,
    inputs: manifest.inputs.map(tensor),
    outputs: manifest.outputs.map(tensor),
    ...(manifest.labels ? { labels: manifest.labels } : {}),
    ...(manifest.description ? { description: manifest.description } : {}),
    goldenExamples: manifest.goldenExamples?.length ?? 0,
    reference: manifest.reference !== undefined,
  };
}

/** A file of the pages, beside this module. */
function pageFile(name: string): string {
  return fileURLToPath(new URL(`./console/${name}`, import.meta.url));
}

function page(html: string, policy: string): LocalReply {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: html,
    headers: {
      'content-security-policy': policy,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  };
}
