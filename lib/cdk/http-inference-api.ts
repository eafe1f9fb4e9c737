import { CfnOutput, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  AUTH_OF_DOOR,
  AuthMode as Auth,
  type AuthMode,
  type CustomDomain,
  FrontDoorKind,
  type JwtSettings,
} from '../core/config/deploy-config.js';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  type CorsSettings,
} from '../core/contract/cors.js';
import { domainTargetOutput, regionalCertificate } from './custom-domain.js';
import { type FrontDoor, SigningService } from './front-door.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings, NagReason } from './nag-suppressions.js';

/** Properties of {@link HttpInferenceApi}. */
export interface HttpInferenceApiProps {
  /**
   * How clients authenticate: IAM (SigV4 for `execute-api`), a JWT authorizer, or none.
   * @default 'iam'
   */
  readonly auth?: AuthMode;
  /**
   * The JWT authorizer's issuer and audiences; required with `jwt` auth.
   * @default none
   */
  readonly jwt?: JwtSettings;
  /**
   * Steady-state requests per second each route of the stage allows (the stage's default route throttling).
   * @default 100
   */
  readonly routeRateLimit?: number;
  /**
   * The burst each route of the stage allows.
   * @default 200
   */
  readonly routeBurstLimit?: number;
  /**
   * The account's "Routes per API" quota, checked at synth over the whole app (each model takes four routes).
   * @default HTTP_API_ROUTES_PER_API
   */
  readonly routesPerApi?: number;
  /**
   * Which web pages may call the API (sluice.config.json `api.cors`): API Gateway answers preflights and adds the
   * CORS headers to every answer itself, ignoring the function's
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html). An `ANY` route would take the
   * preflight to the function, through the authorizer, so with CORS each path has a GET and a POST route, the
   * server routes (`/v2`, health, `/openapi.json`) a GET route each, and no `$default` route takes unknown paths
   * (API Gateway answers them 404 `{"message":"Not Found"}`).
   * @default none: CORS off
   */
  readonly cors?: CorsSettings;
  /**
   * A custom domain (sluice.config.json `api.domain`): a regional domain name with an API mapping to the `$default`
   * stage at its root (the function routes by the route key, so a mapping's path would not matter either).
   * @default none: the execute-api URL only
   */
  readonly domain?: CustomDomain;
}

/**
 * API Gateway's default "Routes per API" for an HTTP API, adjustable per API
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
 */
export const HTTP_API_ROUTES_PER_API = 300;

/**
 * The payload format the integrations speak: 2.0, the event a function URL sends too, so one adapter
 * (lib/serving/http-event-format.ts) serves both doors; its `routeKey` and `pathParameters` give the route the
 * request matched, which carries no custom domain's API mapping, where `rawPath` does not say it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
export const HTTP_API_PAYLOAD_FORMAT = apigwv2.PayloadFormatVersion.VERSION_2_0;

/**
 * Access log fields of an HTTP API, one JSON object per request, with the variables HTTP APIs document for
 * logging (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
 */
const HTTP_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationErrorMessage: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
  authorizerError: '$context.authorizer.error',
} as const;

/** The contract's server routes, which the first model's function answers. */
const SERVER_PATHS = ['/v2', '/v2/health/live', '/v2/health/ready', '/openapi.json'] as const;

/**
 * The HTTP API front door: per model, `ANY /v2/models/{m}`, `ANY /v2/models/{m}/{proxy+}`, `ANY /models/{m}` and
 * `ANY /models/{m}/{proxy+}` to that model's `live` alias (payload format 2.0), and a `$default` route to the first
 * model's alias, whose function answers the server routes (`/v2`, `/v2/health/...`) and, with sluice's JSON 404,
 * every unknown path: an HTTP API has no mock integrations nor gateway responses to answer them itself. With CORS,
 * each path has a GET and a POST route instead of ANY, and the server routes a GET route each, instead of `$default`
 * (see {@link HttpInferenceApiProps.cors}): unknown paths then get API Gateway's own 404. Every
 * route carries the configured authorization: IAM (`AWS_IAM`) or the JWT authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html).
 *
 * @example
 * const api = new HttpInferenceApi(this, 'Api', { auth: 'jwt', jwt: { issuer, audience: [clientId] } });
 * api.addModel(irisEndpoint);
 */
export class HttpInferenceApi extends Construct implements FrontDoor {
  readonly kind = FrontDoorKind.HTTP;
  readonly signingService = SigningService.EXECUTE_API;
  readonly api: apigwv2.HttpApi;
  /** The `$default` stage (auto-deployed): its URL has no stage in the path. */
  readonly stage: apigwv2.HttpStage;
  private readonly auth: AuthMode;
  private readonly authorizer?: apigwv2.IHttpRouteAuthorizer;
  /** The scopes every route demands of a JWT (`jwt.scopes`). */
  private readonly scopes?: readonly string[];
  private defaultRouted = false;
  private readonly cors?: CorsSettings;

  constructor(scope: Construct, id: string, props: HttpInferenceApiProps = {}) {
    super(scope, id);
    const auth = props.auth ?? Auth.IAM;
    const carried: readonly AuthMode[] = AUTH_OF_DOOR.http;
    if (!carried.includes(auth)) {
      throw new Error(
        `${this.node.path}: an HTTP API carries auth ${carried.map((mode) => `'${mode}'`).join(', ')}; got '${auth}'. API keys and usage plans exist on REST APIs only (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-vs-rest.html)`,
      );
    }
    if ((auth === Auth.JWT) !== (props.jwt !== undefined)) {
      throw new Error(
        `${this.node.path}: jwt settings ({ issuer, audience }) go with auth 'jwt' and only with it; got auth '${auth}' and ${props.jwt ? 'settings' : 'none'}`,
      );
    }
    this.auth = auth;
    this.cors = props.cors;
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'sluice inference API (HTTP API: Open Inference Protocol V2 and the simple predict form)',
      createDefaultStage: false,
      ...(props.cors
        ? {
            corsPreflight: {
              allowOrigins: props.cors.allowOrigins,
              allowMethods: CORS_ALLOW_METHODS.map((method) => apigwv2.CorsHttpMethod[method]),
              allowHeaders: [...CORS_ALLOW_HEADERS],
              exposeHeaders: [...CORS_EXPOSE_HEADERS],
              maxAge: Duration.seconds(props.cors.maxAgeSeconds),
            },
          }
        : {}),
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // The stage's default route settings: each route has its own bucket at these numbers, within the account's
      // limit (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
      throttle: { rateLimit: props.routeRateLimit ?? 100, burstLimit: props.routeBurstLimit ?? 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
      },
    });
    if (auth === Auth.IAM) this.authorizer = new HttpIamAuthorizer();
    if (auth === Auth.JWT && props.jwt) {
      this.scopes = props.jwt.scopes;
      this.authorizer = new HttpJwtAuthorizer('Jwt', props.jwt.issuer, {
        jwtAudience: [...props.jwt.audience],
        authorizerName: 'sluice-jwt',
      });
    }
    new CfnOutput(this, 'Url', {
      value: this.stage.url,
      description: 'base URL of the inference API (HTTP API)',
    });
    if (props.domain) {
      const domain = new apigwv2.DomainName(this, 'Domain', {
        domainName: props.domain.name,
        certificate: regionalCertificate(this, props.domain),
        securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      });
      new apigwv2.ApiMapping(this, 'DomainMapping', { api: this.api, domainName: domain, stage: this.stage });
      domainTargetOutput(this, props.domain, domain.regionalDomainName);
    }
    if (auth === Auth.IAM) {
      new CfnOutput(this, 'InvokeArn', {
        value: this.invokeArn(),
        description:
          "grant execute-api:Invoke on this to the callers' roles (or HttpInferenceApi.grantInvoke); they sign requests with SigV4 for the service execute-api",
      });
    }
    const routesPerApi = props.routesPerApi ?? HTTP_API_ROUTES_PER_API;
    this.node.addValidation({
      validate: () => {
        const routes = Stack.of(this)
          .node.findAll()
          .filter(
            (construct) => construct instanceof apigwv2.HttpRoute && construct.httpApi === this.api,
          ).length;
        return routes <= routesPerApi
          ? []
          : [
              `the HTTP API needs ${routes} routes (${this.cors ? '8 per model (GET and POST of 4 paths) and 4 server routes, with CORS' : '4 per model and $default'}); API Gateway allows ${routesPerApi} per HTTP API ("Routes per API", adjustable: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). Ask AWS to raise it for this API, or deploy fewer models per app`,
            ];
      },
    });
    acceptFindings(this.stage, {
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF by default (it has a monthly cost); the routes are throttled and, by default, IAM-authorized. Associate a web ACL through a CloudFront distribution in front where the threat model calls for one.',
    });
  }

  /**
   * Routes a model's V2 and simple-form paths to its `live` alias, in the stack that holds the model; the first
   * model also takes the `$default` route. API Gateway may invoke the alias through one permission per model for
   * the whole API (`scopePermissionToRoute: false`), not one per route.
   */
  addModel(endpoint: ModelEndpoint): void {
    const routes = new Construct(endpoint, 'HttpRoutes');
    const integration = new HttpLambdaIntegration('Integration', endpoint.liveAlias, {
      payloadFormatVersion: HTTP_API_PAYLOAD_FORMAT,
      scopePermissionToRoute: false,
    });
    const name = endpoint.modelName;
    const paths = [
      `/v2/models/${name}`,
      `/v2/models/${name}/{proxy+}`,
      `/models/${name}`,
      `/models/${name}/{proxy+}`,
    ];
    const methods = this.cors ? [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST] : [apigwv2.HttpMethod.ANY];
    const keys = paths.flatMap((path) => methods.map((method) => apigwv2.HttpRouteKey.with(path, method)));
    if (!this.defaultRouted) {
      // The server routes go to the first model's function: by `$default`, or with CORS by a GET route each (a
      // `$default` route would take preflights to the function too).
      keys.push(
        ...(this.cors
          ? SERVER_PATHS.map((path) => apigwv2.HttpRouteKey.with(path, apigwv2.HttpMethod.GET))
          : [apigwv2.HttpRouteKey.DEFAULT]),
      );
      this.defaultRouted = true;
    }
    keys.forEach((routeKey, index) => {
      const route = new apigwv2.HttpRoute(routes, `Route${index}`, {
        httpApi: this.api,
        routeKey,
        integration,
        ...(this.authorizer ? { authorizer: this.authorizer } : {}),
        ...(this.scopes ? { authorizationScopes: [...this.scopes] } : {}),
      });
      if (this.auth === Auth.NONE) {
        acceptFindings(route, {
          id: 'AwsSolutions-APIG4',
          reason: 'The config sets api.auth to "none": this API is open on purpose.',
        });
      }
      acceptFindings(route, { id: 'AwsSolutions-COG4', reason: NagReason.NO_COGNITO });
    });
    // The integration names the alias, and the permission its ARN: the release creates the alias.
    for (const child of routes.node.findAll()) {
      if (child instanceof CfnResource) child.node.addDependency(endpoint.release);
    }
  }

  /**
   * Lets a principal call every route of the API (`execute-api:Invoke` on `<api>/*`), as IAM auth requires of
   * callers (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.invokeArn()],
    });
  }

  /** Every route of every stage, as an execute-api ARN. */
  private invokeArn(): string {
    return Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: '*' });
  }
}
