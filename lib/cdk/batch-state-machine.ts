import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { batchPrefix } from '../core/batch/batch-event.js';
import { BatchInputFormat } from '../core/batch/batch-items.js';
import type { BatchScoring } from '../core/config/deploy-config.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings, nagArn, nagRef } from './nag-suppressions.js';
import type { RegistryBucket } from './registry-bucket.js';

/**
 * Most bytes of items in one batch: Step Functions' payload limit of a state's input, 256 KiB
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html); `MaxInputBytesPerBatch` may not pass it
 * (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html).
 */
export const MAX_BATCH_INPUT_BYTES = 256 * 1024;

/** Attempts of a batch whose invocation failed (a timeout, throttling, a function error), before it counts as failed. */
export const BATCH_INVOKE_ATTEMPTS = 3;

/**
 * The map's result writer, with no grant of its own: for a bucket given by path CDK grants its writes on every
 * bucket (`*`); the construct grants the model's `batch/<model>/output/` prefix instead.
 */
class PrefixScopedResultWriter extends sfn.ResultWriterV2 {
  override providePolicyStatements(): [] {
    return [];
  }
}

/** Properties of {@link BatchStateMachine}. */
export interface BatchStateMachineProps {
  readonly registry: RegistryBucket;
  /** The model, whose function scores the batches (through its `live` alias). */
  readonly endpoint: ModelEndpoint;
  /** Concurrency, rows per batch, tolerated failures (sluice.config.json `batch`). */
  readonly batch: BatchScoring;
}

/**
 * A model's batch scoring: a Step Functions state machine whose Distributed Map reads one JSON lines or CSV object
 * under `batch/<model>/input/` of the registry bucket (Step Functions' own item reader, `InputType` JSONL or CSV
 * with the header in the first row), batches its items (`batchRows`, at most 256 KiB), and invokes the Lambda version
 * of the model's function this deploy published (not the `live` alias, whose invocations are a rollout's evidence)
 * with each batch, at most `maxConcurrency` at once; the function scores a batch
 * with one session.run and writes its results to a part under `batch/<model>/output/<run>/parts/`, and the map's
 * result writer puts the run's manifest and each batch's outcome under `batch/<model>/output/` (a batch that failed
 * every attempt is listed there with its input, its rows having no part). A failed invocation is tried
 * {@link BATCH_INVOKE_ATTEMPTS} times; the run fails when more than `toleratedFailurePercent` of its rows are in batches that failed (Step Functions counts items: https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html). Per model, not per stack: its IAM names that model's function and prefixes only.
 *
 * Execution input: `{"run": {"runId", "key", "format": "jsonl"|"csv", "version"?}}` (see `BatchRunInputSchema`).
 *
 * @example
 * new BatchStateMachine(endpoint, 'Batch', { registry, endpoint, batch: model.batch });
 */
export class BatchStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BatchStateMachineProps) {
    super(scope, id);
    const model = props.endpoint.modelName;
    // The registry's name goes in with the input, so the reader and writer take their bucket from a path: with the
    // bucket object, CDK would grant them the whole registry (models included), not the model's batch prefixes.
    const withRegistry = new sfn.Pass(this, 'Registry', {
      parameters: { bucket: props.registry.bucket.bucketName },
      resultPath: '$.registry',
    });
    const maps = Object.fromEntries(
      [BatchInputFormat.JSON_LINES, BatchInputFormat.CSV].map((format) => [format, this.map(format, props)]),
    ) as Record<BatchInputFormat, sfn.DistributedMap>;
    const definition = withRegistry.next(
      new sfn.Choice(this, 'Format')
        .when(sfn.Condition.stringEquals('$.run.format', BatchInputFormat.CSV), maps.csv)
        .otherwise(maps.jsonl),
    );
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: `sluice batch scoring of ${model}`,
      logs: { destination: logGroup, level: sfn.LogLevel.ERROR },
      tracingEnabled: false,
    });
    props.registry.grantBatchInput(this.stateMachine, model);
    props.registry.grantBatchOutput(this.stateMachine, model);
    props.registry.grantBatchOutput(props.endpoint.fn, model);
    const bucket = nagArn(props.registry.bucket, this);
    const prefixes = {
      id: `AwsSolutions-IAM5[Resource::${bucket}/${batchPrefix(model)}output/*]`,
      reason: `Writes the results of ${model}'s batch runs only: the batch/${model}/output/ prefix of the registry bucket.`,
    };
    acceptFindings(
      this.stateMachine,
      {
        id: 'AwsSolutions-SF2',
        reason: 'X-Ray tracing of batch runs is off, as it is of the functions (sluice.config.json tracing).',
      },
      {
        id: 'AwsSolutions-SF1',
        reason:
          'Logs errors only: every batch of a run would otherwise log its input (rows) and output in full.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${bucket}/${batchPrefix(model)}input/*]`,
        reason: `Reads the inputs of ${model}'s batch runs only: the batch/${model}/input/ prefix of the registry bucket.`,
      },
      prefixes,
      {
        id: `AwsSolutions-IAM5[Resource::${nagRef(props.endpoint.version)}:*]`,
        reason:
          "Invokes one published version of the model's function only; CDK's LambdaInvoke grants it with its qualifiers.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Log delivery to CloudWatch Logs (logs:CreateLogDelivery and its kin) has no resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).',
      },
    );
    // The Distributed Map starts child executions of this state machine and reads and stops them: CDK grants it
    // its own executions, named through the machine's ARN, as cdk-nag writes them out.
    const stack = Stack.of(this);
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
    const machineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${nagRef(this.stateMachine).slice(1, -1)}"}]}]}`;
    const executions = `arn:${shown(stack.partition, 'AWS::Partition')}:states:${shown(stack.region, 'AWS::Region')}:${shown(stack.account, 'AWS::AccountId')}:execution:${machineName}`;
    const ownExecutions =
      'The Distributed Map runs its batches as child executions of this state machine: it may read and stop its own executions only (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).';
    acceptFindings(
      this.stateMachine,
      { id: `AwsSolutions-IAM5[Resource::${executions}:*]`, reason: ownExecutions },
      { id: `AwsSolutions-IAM5[Resource::${executions}/*:*]`, reason: ownExecutions },
    );
    acceptFindings(props.endpoint.fn, prefixes);
    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: `${model}'s batch scoring: aws stepfunctions start-execution --state-machine-arn <this> --input '{"run": {"runId": ..., "key": "batch/${model}/input/...", "format": "jsonl"}}'`,
    });
  }

  /** The Distributed Map of one input format. */
  private map(format: BatchInputFormat, props: BatchStateMachineProps): sfn.DistributedMap {
    const model = props.endpoint.modelName;
    const bucketNamePath = sfn.JsonPath.stringAt('$.registry.bucket');
    const readerProps = { bucketNamePath, key: sfn.JsonPath.stringAt('$.run.key') };
    const map = new sfn.DistributedMap(this, `Rows-${format}`, {
      itemReader:
        format === BatchInputFormat.CSV
          ? new sfn.S3CsvItemReader({ ...readerProps, csvHeaders: sfn.CsvHeaders.useFirstRow() })
          : new sfn.S3JsonLItemReader(readerProps),
      // Each item with its place in the object: its result names the line it came from.
      itemSelector: {
        index: sfn.JsonPath.stringAt('$$.Map.Item.Index'),
        value: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
      },
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatch: props.batch.batchRows,
        maxInputBytesPerBatch: MAX_BATCH_INPUT_BYTES,
        // CDK writes BatchInput as given: the path is named as ASL names one, with `.$`.
        batchInput: { 'sluiceBatch.$': '$.run' },
      }),
      maxConcurrency: props.batch.maxConcurrency,
      toleratedFailurePercentage: props.batch.toleratedFailurePercent,
      resultWriterV2: new PrefixScopedResultWriter({
        bucketNamePath,
        prefix: `${batchPrefix(model)}output/`,
      }),
      resultPath: '$.results',
    });
    const invoke = new tasks.LambdaInvoke(this, `Score-${format}`, {
      // The Lambda version this deploy published, not the live alias: Lambda counts an alias's invocations per
      // executed version, the evidence of a rollout's steps and its version alarms, and batch work is not traffic
      // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
      lambdaFunction: props.endpoint.version,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    invoke.addRetry({
      errors: ['States.ALL'],
      maxAttempts: BATCH_INVOKE_ATTEMPTS - 1,
      interval: Duration.seconds(2),
      backoffRate: 2,
    });
    map.itemProcessor(invoke);
    return map;
  }
}
