import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CorsSettings } from '../core/contract/cors.js';
import { DriftTallies } from '../core/stats/drift.js';
import { EngineRolloutControl, type RolloutControl } from '../rollout/RolloutControl.js';
import { RolloutEngine } from '../rollout/RolloutEngine.js';
import type { AppLogger } from '../serving/InferenceApp.js';
import { InferenceApp } from '../serving/InferenceApp.js';
import { InferenceEngine } from '../serving/InferenceEngine.js';
import { ObjectTransfers } from '../serving/ObjectTransfers.js';
import { ModelRegistry, UNPUBLISHED_GRACE_MS } from '../storage/ModelRegistry.js';
import { RolloutStore } from '../storage/RolloutStore.js';
import { S3RequestObjects } from '../storage/S3RequestObjects.js';
import { ApiGatewayEmulator } from './ApiGatewayEmulator.js';
import { CONSOLE_ACTOR, consoleRoutes } from './console-routes.js';
import { expireRequestObjects } from './expire-request-objects.js';
import { HealthWindow } from './HealthWindow.js';
import { HomeLock } from './HomeLock.js';
import { LOCAL_STACK_ACTOR, LocalAliasResolver } from './LocalAliasResolver.js';
import { LocalLogBuffer } from './LocalLogBuffer.js';
import { LocalObjectStore } from './LocalObjectStore.js';
import { LOCAL_DRIVER_INTERVAL_MS, LocalRolloutDriver } from './LocalRolloutDriver.js';
import { LocalRolloutStates } from './LocalRolloutStates.js';
import { type LocalConfig, readLocalConfig } from './local-config.js';
import { localControlRoutes } from './local-control-routes.js';
import { type LocalStackInfo, removeLocalStackInfo, writeLocalStackInfo } from './local-home.js';
import { hostGuarded, hostsOf, originsOf } from './local-route-guard.js';
import { PrometheusServingMetrics } from './PrometheusServingMetrics.js';
import { readPackageVersion } from './package-version.js';
import { publishSamples } from './publish-samples.js';
import { RegistryResolver } from './RegistryResolver.js';
import { StackRolloutTarget } from './StackRolloutTarget.js';

/** Port of the local API when PORT is not set. */
export const DEFAULT_LOCAL_PORT = 3000;

/** Options of {@link LocalStack.start}. */
export interface LocalStackOptions {
  /** Data folder (the embedded store lives in `<home>/s3`). */
  readonly home: string;
  /** API port; 0 picks a free one. @default DEFAULT_LOCAL_PORT */
  readonly port?: number;
  /** Embedded S3 port; 0 picks a free one. @default 0 */
  readonly s3Port?: number;
  /** Publish the bundled sample models when the registry does not have them. @default true */
  readonly publishSamples?: boolean;
  /** @default a Powertools logger at the level of POWERTOOLS_LOG_LEVEL */
  readonly logger?: AppLogger;
  /** Log one line per successful request. @default false */
  readonly logRequests?: boolean;
  /** Health thresholds of local rollouts. @default readLocalConfig(process.env) */
  readonly config?: LocalConfig;
  /** The draws of the local aliases' weighted routing (tests pass a fixed sequence). @default Math.random */
  readonly random?: () => number;
  /** The draws that pick the requests a shadow candidate answers too (tests pass a fixed sequence). @default Math.random */
  readonly shadowRandom?: () => number;
  /** The clock of routing, health and rollouts, epoch milliseconds (tests pass one they move). @default Date.now */
  readonly now?: () => number;
  /**
   * How often the stack takes the rollout steps that are due, in milliseconds; `false` takes none on its own (tests
   * call `driver.tick()`). @default LOCAL_DRIVER_INTERVAL_MS
   */
  readonly driveEveryMs?: number | false;
  /** The console page offers promote and rollback (`npm start -- --allow-actions`). @default false */
  readonly consoleActions?: boolean;
  /** Which web pages may call the API (`api.cors` of sluice.config.json, see `readLocalCors`). @default none: CORS off */
  readonly cors?: CorsSettings;
}

/**
 * Everything sluice runs on AWS, on one machine: the embedded S3-compatible registry, the same
 * request pipeline Lambda runs, and an API Gateway emulator in front of it, plus `GET /metrics`.
 * One stack per data folder: {@link HomeLock} refuses a second one with {@link HomeInUseError}.
 *
 * Local aliases: the unversioned routes follow each model's rollout state (see {@link LocalAliasResolver});
 * a {@link HealthWindow} of every inference outcome judges candidates, and a {@link LocalRolloutDriver} carries
 * every rollout in progress through its bakes with the rollout engine (promote, advance, roll back) with nobody
 * watching, as the scheduler does on AWS. The stack is the one writer of its rollout states
 * ({@link LocalRolloutStates}): `sluice --local` in another process asks it to deploy, promote or roll back over its
 * control routes (`/_sluice/rollouts/{model}`), so a command routes the very next request, and reads its health
 * window through `GET /_sluice/health/{model}`. It learns of a newly published version from its embedded store,
 * without polling the registry.
 *
 * @example
 * const stack = await LocalStack.start({ home: '.sluice', port: 3000 });
 * console.log(stack.apiUrl);
 */
export class LocalStack {
  private constructor(
    readonly home: string,
    readonly store: LocalObjectStore,
    readonly registry: ModelRegistry,
    readonly engine: InferenceEngine,
    readonly metrics: PrometheusServingMetrics,
    readonly app: InferenceApp,
    /** Outcomes of every inference, per model and version. */
    readonly health: HealthWindow,
    /** The local aliases. */
    readonly resolver: LocalAliasResolver,
    /** The rollout states, owned by the stack: every write routes the next request. */
    readonly rollouts: LocalRolloutStates,
    /** The rollout target inside the stack, which the stack's engines act through. */
    private readonly target: StackRolloutTarget,
    private readonly now: () => number,
    /** Carries rollouts through their bakes. */
    readonly driver: LocalRolloutDriver,
    private readonly api: ApiGatewayEmulator,
    /** Sample models published by this start (empty when they were already there). */
    readonly publishedSamples: { model: string; version: number }[],
    private readonly lock: HomeLock,
    private readonly info: LocalStackInfo,
    private readonly stopListening: () => void,
  ) {}

  /** The API base URL, e.g. `http://127.0.0.1:3000`. */
  get apiUrl(): string {
    return this.api.url;
  }

  /** This start's token of rollout commands (see `CONTROL_TOKEN_HEADER`). */
  get controlToken(): string {
    return this.info.controlToken;
  }

  /**
   * The stack's rollout engine acting as `actor` (its events name it): what the control routes and the driver
   * act through, on the stack's own states.
   */
  rolloutEngine(actor: string): RolloutEngine {
    return new RolloutEngine({
      store: this.rollouts,
      registry: this.registry,
      actor,
      target: this.target,
      now: this.now,
    });
  }

  /** The stack's rollout control acting as `actor`: deploy, promote, rollback and status, carried out here. */
  rolloutControl(actor: string): RolloutControl {
    return new EngineRolloutControl({
      engine: this.rolloutEngine(actor),
      target: this.target,
      current: (model) => this.rollouts.current(model),
    });
  }

  /**
   * Starts the store, binds the API's port, removes the bytes of publishes that died before their manifest (claimed
   * over {@link UNPUBLISHED_GRACE_MS} ago), publishes the samples on first start, and serves the API.
   */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const config = options.config ?? readLocalConfig(process.env);
    await mkdir(options.home, { recursive: true });
    // One stack per data folder, taken before anything in it is touched; HomeInUseError names the running one.
    const lock = await HomeLock.acquire(options.home);
    // Every line also kept, for `sluice logs --local` (the logs route below).
    const logger = new LocalLogBuffer(options.logger ?? new Logger({ serviceName: 'sluice-local' }));
    let store: LocalObjectStore;
    try {
      store = await LocalObjectStore.start({
        directory: join(options.home, 's3'),
        port: options.s3Port ?? 0,
      });
    } catch (error) {
      await lock.release();
      throw error;
    }
    try {
      const registry = new ModelRegistry({ store: store.objects() });
      const metrics = new PrometheusServingMetrics();
      let coldStart = true;
      const engine = new InferenceEngine({
        registry,
        onLoad: ({ model, version, loadMs }) => {
          metrics.recordModelLoad(model, version, loadMs, coldStart);
          coldStart = false;
        },
      });
      const now = options.now ?? Date.now;
      const rollouts = new LocalRolloutStates(new RolloutStore({ store: store.objects() }));
      const health = new HealthWindow();
      const versions = new RegistryResolver(registry);
      const stopListening = store.onChange((key) => versions.changed(key));
      const resolver = new LocalAliasResolver({
        registry: versions,
        states: rollouts,
        health,
        now,
        ...(options.random ? { random: options.random } : {}),
        ...(options.shadowRandom ? { shadowRandom: options.shadowRandom } : {}),
      });
      const drift = new DriftTallies();
      const target = new StackRolloutTarget({
        health,
        thresholds: config.health,
        engine,
        registry,
        drift,
        now,
      });
      const driver = new LocalRolloutDriver({
        engine: new RolloutEngine({ store: rollouts, registry, actor: LOCAL_STACK_ACTOR, target, now }),
        models: () => versions.models(),
        state: (model) => rollouts.current(model),
        logger,
      });
      const app = new InferenceApp({
        engine,
        resolver,
        registry,
        metrics,
        drift,
        logger,
        logRequests: options.logRequests ?? false,
        serverVersion: readPackageVersion(),
        // Tensors sent by reference: presigned URLs of the embedded store, on 127.0.0.1 like it.
        objects: new ObjectTransfers({
          store: new S3RequestObjects({ client: store.createClient(), bucket: store.bucket }),
        }),
      });
      let stack: LocalStack | undefined;
      // Rollout commands carry it (see localControlRoutes): `sluice --local` reads it from the stack's file.
      const token = randomBytes(16).toString('hex');
      // The port is bound before the registry is written to: a start that fails on a taken port has published no
      // sample (and removed nothing) in a folder it never served.
      const api = await ApiGatewayEmulator.start({
        handler: (event) => app.handle(event),
        port: options.port ?? DEFAULT_LOCAL_PORT,
        ...(options.cors ? { cors: options.cors } : {}),
        // Refusals are always logged, as the app logs its own.
        onRefused: (refusal) => logger.info('request refused', refusal),
        onError: (error, request) =>
          logger.error('the local API failed to answer', { ...request, error: error as Error }),
        localRoutes: hostGuarded(
          {
            '/metrics': {
              methods: ['GET'],
              answer: async () => ({
                status: 200,
                contentType: metrics.contentType,
                body: await metrics.render(),
              }),
            },
            ...localControlRoutes({
              health,
              drift,
              thresholds: config.health,
              now,
              origins: () => originsOf(api.url),
              token,
              control: (actor) => (stack as LocalStack).rolloutControl(actor),
              logs: logger,
            }),
            ...consoleRoutes({
              models: () => versions.models(),
              registry,
              status: (model) => (stack as LocalStack).rolloutControl(CONSOLE_ACTOR).status(model),
              series: async (model, shown, window) =>
                Object.fromEntries(
                  shown.map((version) => [
                    String(version),
                    health.series(model, version, window.from, window.to, window.periodMs),
                  ]),
                ),
              drift: async (model) => drift.figures(model),
              thresholds: config.health,
              source: 'local',
              now,
              token,
              actions: options.consoleActions ?? false,
            }),
          },
          () => hostsOf(api.url),
        ),
      });
      let published: { model: string; version: number }[];
      let info: LocalStackInfo;
      try {
        await sweepUnpublished(registry, now(), logger);
        await expireOldRequestObjects(store, now(), logger);
        published = options.publishSamples === false ? [] : await publishSamples(registry);
        info = {
          apiUrl: api.url,
          s3Endpoint: store.endpoint,
          bucket: store.bucket,
          pid: process.pid,
          controlToken: token,
        };
        await writeLocalStackInfo(options.home, info);
      } catch (error) {
        await api.stop();
        throw error;
      }
      if (options.driveEveryMs !== false) driver.start(options.driveEveryMs ?? LOCAL_DRIVER_INTERVAL_MS);
      stack = new LocalStack(
        options.home,
        store,
        registry,
        engine,
        metrics,
        app,
        health,
        resolver,
        rollouts,
        target,
        now,
        driver,
        api,
        published,
        lock,
        info,
        stopListening,
      );
      return stack;
    } catch (error) {
      await store.stop();
      await lock.release();
      throw error;
    }
  }

  /** Stops the API and the store; the data stays in the home folder. */
  async stop(): Promise<void> {
    await removeLocalStackInfo(this.home, this.info);
    this.stopListening();
    await this.driver.stop();
    await this.api.stop();
    // Shadow runs of answered requests finish before their sessions close.
    await this.app.shadowsSettled();
    await this.app.close();
    await this.engine.close();
    await this.store.stop();
    await this.lock.release();
  }
}

/**
 * The start's stand-in for the lifecycle of `requests/` on AWS: objects of tensors sent by reference older than their
 * expiry are deleted (see `expireRequestObjects`). A failure is logged, not fatal, as the sweep of the registry's.
 */
async function expireOldRequestObjects(
  store: LocalObjectStore,
  now: number,
  logger: AppLogger,
): Promise<void> {
  try {
    const expired = await expireRequestObjects(store.createClient(), store.bucket, now);
    if (expired.length > 0) logger.info('expired request objects', { objects: expired.length });
  } catch (error) {
    logger.warn('could not expire request objects', { error: error as Error });
  }
}

/**
 * The start's clean-up of the registry: bytes without a manifest, claimed longer than the grace period ago, are
 * what a publish killed before its commit left (see `ModelRegistry.sweepUnpublished`). A failure is logged, not
 * fatal: the stack serves the same without the clean-up.
 */
async function sweepUnpublished(registry: ModelRegistry, now: number, logger: AppLogger): Promise<void> {
  try {
    const { removed } = await registry.sweepUnpublished({ now, graceMs: UNPUBLISHED_GRACE_MS });
    if (removed.length > 0) {
      logger.info('removed the bytes of versions that were never published', {
        versions: removed.map((entry) => `${entry.model} v${entry.version}`),
      });
    }
  } catch (error) {
    logger.warn('could not remove the bytes of versions that were never published', {
      error: error as Error,
    });
  }
}
