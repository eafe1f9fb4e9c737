import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  paginateDescribeAlarms,
} from '@aws-sdk/client-cloudwatch';
import { DeleteFunctionCommand, GetAliasCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  parseVersionAlarmName,
  VERSION_ALARM_PREFIX,
  VersionAlarmKind,
  versionAlarmName,
} from '../../core/gates/version-alarm-name.js';
import type { RolloutState } from '../../core/rollout/RolloutState.js';
import { CDK_ACTOR, lastDeployEvent } from '../../core/rollout/release-decision.js';
import { DEFAULT_KEEP_VERSIONS } from '../../core/rollout/retention.js';
import { LIVE_ALIAS } from '../../core/rollout/stack-names.js';
import { listFunctionVersions } from './list-function-versions.js';

/** What {@link pruneFunctionVersions} takes. */
export interface PruneFunctionVersionsInput {
  readonly lambda: LambdaClient;
  readonly cloudwatch: CloudWatchClient;
  /** The predict function's name (alarm names carry it). */
  readonly functionName: string;
  /**
   * The model's current rollout state: its builds are never deleted, nor the build the last `cdk deploy` release
   * replaced (its history names it), which CloudFormation's rollback of the stack would route back to.
   */
  readonly state?: Pick<RolloutState, 'stableBuild' | 'candidateBuild' | 'shadowBuild'> &
    Partial<Pick<RolloutState, 'history'>>;
  /**
   * Versions kept besides the protected ones.
   * @default DEFAULT_KEEP_VERSIONS
   */
  readonly keep?: number;
  /** @default LIVE_ALIAS */
  readonly alias?: string;
}

/** What {@link pruneFunctionVersions} deleted. */
export interface PruneResult {
  /** Lambda versions deleted, oldest first. */
  readonly deletedVersions: string[];
  /** Alarms deleted (the five of each deleted version). */
  readonly deletedAlarms: string[];
}

/**
 * Removes what ended rollouts leave behind: every published Lambda version of the function except the ones the
 * alias routes to (GetAlias: its version and its additional weights), the builds the rollout state names (and the
 * one the last `cdk deploy` replaced, which a CloudFormation rollback routes again), and
 * the newest `keep` others; and the version alarms of each deleted version (DeleteAlarms of the five names), and
 * of any version that no longer exists (found with DescribeAlarms by the `sluice-<function>-` prefix).
 * The rollout driver calls it for models with no rollout in progress. Deleting a version deletes only that
 * version: "To delete a specific function version, use the Qualifier parameter. Otherwise, all versions and
 * aliases are deleted", and "You can't delete a version that an alias references"
 * (https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html); the IAM grant names only qualified ARNs.
 *
 * @example
 * await pruneFunctionVersions({ lambda, cloudwatch, functionName: 'Sluice-Iris-AbC', state });
 */
export async function pruneFunctionVersions(input: PruneFunctionVersionsInput): Promise<PruneResult> {
  const alias = input.alias ?? LIVE_ALIAS;
  const keep = input.keep ?? DEFAULT_KEEP_VERSIONS;
  const routed = await input.lambda.send(
    new GetAliasCommand({ FunctionName: input.functionName, Name: alias }),
  );
  const protectedVersions = new Set(
    [
      routed.FunctionVersion,
      ...Object.keys(routed.RoutingConfig?.AdditionalVersionWeights ?? {}),
      input.state?.stableBuild,
      input.state?.candidateBuild,
      input.state?.shadowBuild,
      // The build the last cdk deploy replaced: the previous template names it, so a failed deploy's rollback Update
      // (or a reverted config) routes it again and it must still exist.
      lastDeployEvent(input.state?.history ?? [], CDK_ACTOR)?.stableBuild,
    ].filter((version): version is string => version !== undefined),
  );
  const published = (await listFunctionVersions(input.lambda, input.functionName))
    .map((config) => config.Version)
    .filter((version): version is string => version !== undefined && /^[1-9][0-9]*$/.test(version))
    .sort((a, b) => Number(b) - Number(a));
  const candidates = published.filter((version) => !protectedVersions.has(version));
  const doomed = candidates.slice(keep).reverse();
  const deletedVersions: string[] = [];
  const deletedAlarms: string[] = [];
  for (const version of doomed) {
    await input.lambda.send(
      new DeleteFunctionCommand({ FunctionName: input.functionName, Qualifier: version }),
    );
    deletedVersions.push(version);
    const names = Object.values(VersionAlarmKind).map((kind) =>
      versionAlarmName(input.functionName, version, kind),
    );
    await input.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names }));
    deletedAlarms.push(...names);
  }
  // Alarms of versions that no longer exist (deleted by hand, or by an older stack's cleanup) go too.
  const remaining = new Set(published.filter((version) => !doomed.includes(version)));
  const orphans: string[] = [];
  const pages = paginateDescribeAlarms(
    { client: input.cloudwatch },
    { AlarmNamePrefix: `${VERSION_ALARM_PREFIX}${input.functionName}-`, AlarmTypes: ['MetricAlarm'] },
  );
  for await (const page of pages) {
    for (const alarm of page.MetricAlarms ?? []) {
      const subject = parseVersionAlarmName(alarm.AlarmName ?? '');
      if (subject === undefined || subject.functionName !== input.functionName) continue;
      if (remaining.has(subject.lambdaVersion) || protectedVersions.has(subject.lambdaVersion)) continue;
      if (alarm.AlarmName !== undefined && !deletedAlarms.includes(alarm.AlarmName))
        orphans.push(alarm.AlarmName);
    }
  }
  // DeleteAlarms takes up to 100 names per call.
  for (let start = 0; start < orphans.length; start += MAX_ALARMS_PER_DELETE) {
    const names = orphans.slice(start, start + MAX_ALARMS_PER_DELETE);
    await input.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names }));
    deletedAlarms.push(...names);
  }
  return { deletedVersions, deletedAlarms };
}

/**
 * Deletes every version alarm of a function (`sluice-<function>-<version>-<kind>`, that function exactly: not one
 * whose name merely starts the same), whatever its version: what the release's Delete does when the model leaves
 * the config or its function is replaced, so no sluice alarm outlives its function. Returns the names deleted.
 *
 * @example
 * await deleteFunctionAlarms(cloudwatch, 'Sluice-ModelirisFunction-AbC');
 */
export async function deleteFunctionAlarms(
  cloudwatch: CloudWatchClient,
  functionName: string,
): Promise<string[]> {
  const names: string[] = [];
  const pages = paginateDescribeAlarms(
    { client: cloudwatch },
    { AlarmNamePrefix: `${VERSION_ALARM_PREFIX}${functionName}-`, AlarmTypes: ['MetricAlarm'] },
  );
  for await (const page of pages) {
    for (const alarm of page.MetricAlarms ?? []) {
      if (alarm.AlarmName && parseVersionAlarmName(alarm.AlarmName)?.functionName === functionName) {
        names.push(alarm.AlarmName);
      }
    }
  }
  for (let start = 0; start < names.length; start += MAX_ALARMS_PER_DELETE) {
    await cloudwatch.send(
      new DeleteAlarmsCommand({ AlarmNames: names.slice(start, start + MAX_ALARMS_PER_DELETE) }),
    );
  }
  return names;
}

/** Alarm names one DeleteAlarms call takes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DeleteAlarms.html). */
const MAX_ALARMS_PER_DELETE = 100;
