import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  AuthMode as Auth,
  type AuthMode,
  type CustomDomain,
  FrontDoorKind,
  type QuotaPeriod,
  type UsagePlanQuota,
} from '../core/config/deploy-config.js';
import { BINARY_MEDIA_TYPES } from '../core/contract/binary-media-types.js';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, type CorsSettings } from '../core/contract/cors.js';
import { SERVED_EXTENSIONS } from '../core/contract/extensions.js';
import { API_STAGE } from '../core/contract/proxy-event.js';
import { accessLogFormat } from './access-log-format.js';
import { domainTargetOutput, regionalCertificate } from './custom-domain.js';
import { type FrontDoor, SigningService } from './front-door.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings, NagReason } from './nag-suppressions.js';

/** Properties of {@link InferenceApi}. */
export interface InferenceApiProps {
  /**
   * How clients authenticate: IAM (SigV4), an API key with a usage plan, or none ('jwt' is refused: HTTP API only).
   * @default 'iam'
   */
  readonly auth?: AuthMode;
  /**
   * The API key's usage plan quota (requests with the key per day, week or month); required with `api-key` auth.
   * @default none: only `api-key` auth has a usage plan
   */
  readonly quota?: UsagePlanQuota;
  /**
   * Steady-state requests per second that each method of the stage allows on its own: the stage's default method
   * throttling (resource path `/*`, method `*`), which API Gateway applies per method, not to the stage as a whole.
   * With `api-key` auth, the usage plan throttles the key at this rate too, its requests to all methods together.
   * @default 100
   */
  readonly methodRateLimit?: number;
  /**
   * The burst each method of the stage allows on its own (and the API key's usage plan, all methods together).
   * @default 200
   */
  readonly methodBurstLimit?: number;
  /**
   * X-Ray tracing of the stage (sluice.config.json `tracing`).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Version string `GET /v2` reports.
   * @default '0.0.0'
   */
  readonly serverVersion?: string;
  /**
   * Which web pages may call the API (sluice.config.json `api.cors`): every resource answers preflights (mock
   * OPTIONS methods, open, as browsers send preflights without credentials), the functions add CORS headers to
   * their answers (see {@link functionCors}), and API Gateway's own answers carry the origin when there is one.
   * @default none: CORS off
   */
  readonly cors?: CorsSettings;
  /**
   * A custom domain (sluice.config.json `api.domain`): a regional domain name mapped to the stage at its root, so
   * `https://<name>/models/...` without the stage (the function routes by the matched resource, whatever the path).
   * @default none: the execute-api URL only
   */
  readonly domain?: CustomDomain;
}

const JSON_TYPE = 'application/json';

/** The config's quota periods as CDK names them. */
const USAGE_PLAN_PERIOD = {
  DAY: apigateway.Period.DAY,
  WEEK: apigateway.Period.WEEK,
  MONTH: apigateway.Period.MONTH,
} as const satisfies Record<QuotaPeriod, apigateway.Period>;

/**
 * The REST API of the HTTP contract: server routes answered by API Gateway itself, and each model's
 * `/v2/models/{m}/...` and `/models/{m}/...` routes proxied to that model's `live` alias.
 *
 * @example
 * const api = new InferenceApi(this, 'Api', { auth: 'iam' });
 * api.addModel(irisEndpoint);
 * api.grantInvoke(clientRole);
 */
export class InferenceApi extends Construct implements FrontDoor {
  readonly kind = FrontDoorKind.REST;
  readonly signingService = SigningService.EXECUTE_API;
  readonly api: apigateway.RestApi;
  /** The API key, with `api-key` auth. */
  readonly apiKey?: apigateway.IApiKey;
  readonly functionCors?: CorsSettings;
  private readonly v2Models: apigateway.Resource;
  private readonly simpleModels: apigateway.Resource;
  /** Every resource's preflight answer, with `cors`. */
  private readonly preflight?: apigateway.CorsOptions;

  constructor(scope: Construct, id: string, props: InferenceApiProps = {}) {
    super(scope, id);
    const auth = props.auth ?? Auth.IAM;
    if (auth === Auth.JWT) {
      throw new Error(
        `${this.node.path}: a REST API has no JWT authorizer of its own (only Cognito user pools or a Lambda authorizer); got auth 'jwt'. Use the HTTP API door (HttpInferenceApi, api.door "http"), whose routes validate JWTs (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html)`,
      );
    }
    if (auth === Auth.API_KEY && props.quota === undefined) {
      throw new Error(
        `${this.node.path}: api-key auth needs a usage plan quota ({ limit, period }); got none. An API key identifies and meters callers, it does not authenticate them: use 'iam' where callers have AWS credentials`,
      );
    }
    if (auth !== Auth.API_KEY && props.quota !== undefined) {
      throw new Error(
        `${this.node.path}: a quota belongs to the API key's usage plan, and auth '${auth}' has no key; got ${JSON.stringify(props.quota)}`,
      );
    }
    if (props.cors) {
      this.functionCors = props.cors;
      this.preflight = {
        allowOrigins: props.cors.allowOrigins,
        allowMethods: [...CORS_ALLOW_METHODS],
        allowHeaders: [...CORS_ALLOW_HEADERS],
        maxAge: Duration.seconds(props.cors.maxAgeSeconds),
      };
    }
    const rateLimit = props.methodRateLimit ?? 100;
    const burstLimit = props.methodBurstLimit ?? 200;
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'sluice inference API (Open Inference Protocol V2 and the simple predict form)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // Binary tensors must reach the function unaltered: a request whose Content-Type matches a binary media type
      // arrives base64-encoded (isBase64Encoded), and a base64 result goes back as bytes when Accept matches.
      // tritonclient sends neither header, so only */* covers every client; the handler decodes base64 JSON too
      // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html).
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      // API Gateway's CloudWatch role is an account-level setting of the region (AWS::ApiGateway::Account), shared
      // by every REST API there: deleting it with this stack would stop the logging of all the others. Kept.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogFormat(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: props.tracing ?? false,
        // The default method throttling: each method (resource and verb) has a token bucket of its own at these
        // numbers, within the account-level limit shared by every API of the region; the stage as a whole has none
        // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
      },
      defaultMethodOptions: {
        ...(auth === Auth.API_KEY ? { apiKeyRequired: true } : {}),
        ...(auth === Auth.IAM ? { authorizationType: apigateway.AuthorizationType.IAM } : {}),
      },
      ...(this.preflight ? { defaultCorsPreflightOptions: this.preflight } : {}),
    });
    // Execution logs (level ERROR) go to the group API Gateway names API-Gateway-Execution-Logs_{rest-api-id}/{stage}
    // and creates when it first needs it, without retention
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html): created here
    // first, with one, before the deployment and the stage that would write to it.
    const executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);
    this.api.latestDeployment?.node.addDependency(executionLogs);
    // Every error API Gateway itself answers is JSON `{"error": ...}`, like the function's own.
    const gatewayResponses: [apigateway.ResponseType, string | undefined][] = [
      [apigateway.ResponseType.DEFAULT_4XX, undefined],
      [apigateway.ResponseType.DEFAULT_5XX, undefined],
    ];
    // Without IAM auth, a missing token can only mean an unknown path: answer it as the 404 it is.
    if (auth !== Auth.IAM)
      gatewayResponses.push([apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, '404']);
    // A gateway response's headers are constants: they can name one allowed origin (or "*"), not pick among several
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html).
    const [onlyOrigin, ...otherOrigins] = props.cors?.allowOrigins ?? [];
    const staticOrigin = onlyOrigin !== undefined && otherOrigins.length === 0 ? onlyOrigin : undefined;
    for (const [type, status] of gatewayResponses) {
      this.api.addGatewayResponse(`${type.responseType}Response`, {
        type,
        ...(status ? { statusCode: status } : {}),
        ...(staticOrigin ? { responseHeaders: { 'Access-Control-Allow-Origin': `'${staticOrigin}'` } } : {}),
        templates: {
          [JSON_TYPE]:
            status === '404'
              ? '{"error":"no route for $context.httpMethod $context.path; unknown model or path"}'
              : '{"error":$context.error.messageString}',
        },
      });
    }

    const v2 = this.api.root.addResource('v2');
    const mockJson = (resource: apigateway.Resource, body: string) =>
      addMockJson(resource, body, staticOrigin);
    mockJson(
      v2,
      JSON.stringify({
        name: 'sluice',
        version: props.serverVersion ?? '0.0.0',
        extensions: [...SERVED_EXTENSIONS],
      }),
    );
    const health = v2.addResource('health');
    mockJson(health.addResource('live'), '{"live":true}');
    mockJson(health.addResource('ready'), '{"ready":true}');
    this.v2Models = v2.addResource('models');
    this.simpleModels = this.api.root.addResource('models');

    if (auth === Auth.API_KEY && props.quota) {
      // The quota and throttle count the key's requests to every method of the stage together, as targets API Gateway
      // applies best effort (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
      const plan = this.api.addUsagePlan('UsagePlan', {
        description: 'sluice clients',
        throttle: { rateLimit, burstLimit },
        quota: { limit: props.quota.limit, period: USAGE_PLAN_PERIOD[props.quota.period] },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      this.apiKey = this.api.addApiKey('ApiKey', { description: 'sluice client key' });
      plan.addApiKey(this.apiKey);
      new CfnOutput(this, 'ApiKeyId', {
        value: this.apiKey.keyId,
        description:
          'aws apigateway get-api-key --include-value --api-key <id> prints the key; send it as x-api-key',
      });
    }
    if (auth === Auth.IAM) {
      new CfnOutput(this, 'InvokeArn', {
        value: this.invokeArn(),
        description:
          "grant execute-api:Invoke on this to the callers' roles (or InferenceApi.grantInvoke); they sign requests with SigV4",
      });
    }
    new CfnOutput(this, 'Url', { value: this.api.url, description: 'base URL of the inference API' });
    if (props.domain) {
      const domain = this.api.addDomainName('Domain', {
        domainName: props.domain.name,
        certificate: regionalCertificate(this, props.domain),
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
      });
      domainTargetOutput(this, props.domain, domain.domainNameAliasDomainName);
    }
    this.auth = auth;
    acceptFindings(this.api, {
      id: 'AwsSolutions-APIG2',
      reason:
        'The function validates every body against the model signature (names, datatypes, shapes, size) and answers 4xx; an API Gateway model cannot express per-model tensor shapes.',
    });
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      acceptFindings(cloudWatchRole, {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role uses the AWS managed policy made for it; it can only write logs.",
      });
    }
    acceptFindings(this.api.deploymentStage, {
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF by default (it has a monthly cost); the stage is throttled and, by default, IAM-authorized. Associate a web ACL with the stage where the threat model calls for one.',
    });
  }

  private readonly auth: AuthMode;
  /** `/v2/models` and `/models` as seen from each other stack that holds model routes (a model group). */
  private readonly importedParents = new Map<
    Stack,
    { v2: apigateway.IResource; simple: apigateway.IResource }
  >();

  /**
   * Routes a model's V2 and simple-form paths to its `live` alias, in the stack that holds the model (this API's
   * own, or a model group's nested stack: CloudFormation counts each stack's resources apart). API Gateway may
   * invoke the alias through one permission per model for the whole stage (`<api>/prod/*` + `/*`), rather than
   * one per method: a model costs one `AWS::Lambda::Permission`, not eight.
   */
  addModel(endpoint: ModelEndpoint): void {
    const stack = Stack.of(endpoint);
    const sameStack = stack === Stack.of(this);
    const parents = sameStack ? { v2: this.v2Models, simple: this.simpleModels } : this.parentsIn(stack);
    // AwsIntegration, not LambdaIntegration: the same proxy integration (POST to the alias' invocations path), but
    // without LambdaIntegration's permission per method.
    const integration = new apigateway.AwsIntegration({
      proxy: true,
      service: 'lambda',
      path: `2015-03-31/functions/${endpoint.liveAlias.functionArn}/invocations`,
    });
    // Imported parents carry no API defaults: the methods name the authorization themselves.
    const methodOptions: apigateway.MethodOptions = {
      ...(this.auth === Auth.API_KEY ? { apiKeyRequired: true } : {}),
      ...(this.auth === Auth.IAM ? { authorizationType: apigateway.AuthorizationType.IAM } : {}),
    };
    // Imported parents carry no defaults either: each resource names its preflight answer itself.
    const preflight = this.preflight ? { defaultCorsPreflightOptions: this.preflight } : {};
    for (const parent of [parents.v2, parents.simple]) {
      const resource = parent.addResource(endpoint.modelName, preflight);
      const methods = [
        resource.addMethod('ANY', integration, methodOptions),
        resource.addProxy({
          defaultIntegration: integration,
          defaultMethodOptions: methodOptions,
          anyMethod: true,
          ...preflight,
        }).anyMethod,
      ];
      for (const method of methods) {
        if (!method) continue;
        // The method names the alias: the release creates it.
        method.node.addDependency(endpoint.release);
        if (!sameStack) {
          // A method in another stack is not seen by the API's deployment: make the deployment wait for it and
          // change its logical id with what the method is (its path and authorization), so the stage is redeployed
          // when a grouped model's routes change.
          this.api.latestDeployment?.node.addDependency(method);
          this.api.latestDeployment?.addToLogicalId({ route: method.node.path, auth: this.auth });
        }
        acceptFindings(method, { id: 'AwsSolutions-COG4', reason: NagReason.NO_COGNITO });
        if (this.auth !== Auth.IAM) {
          acceptFindings(method, {
            id: 'AwsSolutions-APIG4',
            reason:
              this.auth === Auth.API_KEY
                ? 'The config chose api.auth = "api-key": callers send an API key, metered under a usage plan with a quota; the key identifies them, it does not authenticate them ("iam", the default, does).'
                : 'The config sets api.auth to "none": this API is open on purpose.',
          });
        }
      }
    }
    // This API's stage, in this account: a service principal without its source could be pointed at the function
    // from another account's resources (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-permission.html).
    endpoint.liveAlias.addPermission(API_INVOKE_PERMISSION_ID, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.invokeArn(),
      sourceAccount: stack.account,
      scope: endpoint,
    });
    // The permission names the alias-qualified ARN: the release creates the alias.
    endpoint.node.findChild(API_INVOKE_PERMISSION_ID).node.addDependency(endpoint.release);
  }

  /**
   * Lets a principal call every method of the stage (`execute-api:Invoke` on `<api>/prod/*` + `/*`), as IAM auth
   * requires of callers (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.invokeArn()],
    });
  }

  /** Every method and path of the stage, as an execute-api ARN. */
  private invokeArn(): string {
    return this.api.arnForExecuteApi('*', '/*', API_STAGE);
  }

  /** The API's model parents imported into another stack, once per stack. */
  private parentsIn(stack: Stack): { v2: apigateway.IResource; simple: apigateway.IResource } {
    const known = this.importedParents.get(stack);
    if (known) return known;
    const api = apigateway.RestApi.fromRestApiId(stack, 'InferenceApi', this.api.restApiId);
    const imported = {
      v2: apigateway.Resource.fromResourceAttributes(stack, 'InferenceApiV2Models', {
        restApi: api,
        resourceId: this.v2Models.resourceId,
        path: this.v2Models.path,
      }),
      simple: apigateway.Resource.fromResourceAttributes(stack, 'InferenceApiModels', {
        restApi: api,
        resourceId: this.simpleModels.resourceId,
        path: this.simpleModels.path,
      }),
    };
    this.importedParents.set(stack, imported);
    return imported;
  }
}

/** Construct id (under the model's endpoint) of the permission that lets API Gateway invoke the model's alias. */
export const API_INVOKE_PERMISSION_ID = 'ApiInvokePermission';

/** A constant JSON answer of API Gateway's own, naming `origin` as the allowed CORS origin when there is one. */
function addMockJson(resource: apigateway.Resource, body: string, origin: string | undefined): void {
  const allowOrigin = 'method.response.header.Access-Control-Allow-Origin';
  const method = resource.addMethod(
    'GET',
    new apigateway.MockIntegration({
      // With */* as a binary media type the request counts as binary; converted to text, the mapping template
      // that makes the mock answer 200 still applies.
      contentHandling: apigateway.ContentHandling.CONVERT_TO_TEXT,
      requestTemplates: { [JSON_TYPE]: '{"statusCode": 200}' },
      integrationResponses: [
        {
          statusCode: '200',
          responseTemplates: { [JSON_TYPE]: body },
          ...(origin ? { responseParameters: { [allowOrigin]: `'${origin}'` } } : {}),
        },
      ],
    }),
    // Health and server metadata are constants answered by API Gateway: open, so probes need no credentials.
    {
      methodResponses: [
        { statusCode: '200', ...(origin ? { responseParameters: { [allowOrigin]: true } } : {}) },
      ],
      apiKeyRequired: false,
      authorizationType: apigateway.AuthorizationType.NONE,
    },
  );
  const reason =
    'Health and server metadata are constants answered by API Gateway itself (mock integration), open so probes need no credentials.';
  acceptFindings(method, { id: 'AwsSolutions-APIG4', reason }, { id: 'AwsSolutions-COG4', reason });
}
