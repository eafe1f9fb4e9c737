import { CfnOutput, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  AUTH_OF_DOOR,
  AuthMode as Auth,
  type AuthMode,
  type CustomDomain,
  FrontDoorKind,
} from '../core/config/deploy-config.js';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  type CorsSettings,
} from '../core/contract/cors.js';
import { LIVE_ALIAS } from '../core/rollout/stack-names.js';
import { type FrontDoor, SigningService } from './front-door.js';
import { FunctionUrlDistribution } from './function-url-distribution.js';
import type { ModelEndpoint } from './model-endpoint.js';

/** Properties of {@link FunctionUrlDoor}. */
export interface FunctionUrlDoorProps {
  /**
   * How clients authenticate: IAM (`AWS_IAM`: SigV4 for the service `lambda`) or none (`NONE`: public).
   * @default 'iam'
   */
  readonly auth?: AuthMode;
  /**
   * A CloudFront distribution with origin access control in front of the URLs: one host for every model, open to
   * viewers (auth must be `none`), the URLs `AWS_IAM` and invocable by the distribution only.
   * @default false
   */
  readonly cloudFront?: boolean;
  /**
   * Which web pages may call the URLs (sluice.config.json `api.cors`): Lambda answers preflights and adds the
   * CORS headers from the URL's CORS settings (https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html).
   * @default none: CORS off
   */
  readonly cors?: CorsSettings;
  /**
   * A custom domain for the CloudFront distribution (needs `cloudFront`; its certificate in us-east-1).
   * @default none: the distribution's own host
   */
  readonly domain?: CustomDomain;
}

/** The function URL auth type of each auth mode a function URL carries. */
const URL_AUTH_TYPE = {
  iam: lambda.FunctionUrlAuthType.AWS_IAM,
  none: lambda.FunctionUrlAuthType.NONE,
} as const;

/**
 * The function URL front door: one Lambda function URL per model, on the model's `live` alias (`Qualifier: live`),
 * so a request through it is routed by the alias's weights like any invocation of the alias, during a rollout too
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html). Each URL is its own host
 * (`https://<url-id>.lambda-url.<region>.on.aws`): the whole HTTP contract under it (`/v2/models/{m}/...`,
 * `/models/{m}/...`, `/v2`, `/v2/health/...`), answered by that model's function, whose event is payload format 2.0
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html). BUFFERED invoke mode: 6 MB each way, as the
 * function answers today; no stage, no throttle but the function's reserved concurrency, no custom domain without
 * a CloudFront distribution in front.
 *
 * @example
 * const door = new FunctionUrlDoor(this, 'Urls', { auth: 'iam' });
 * door.addModel(irisEndpoint);
 * door.grantInvoke(clientRole);
 */
export class FunctionUrlDoor extends Construct implements FrontDoor {
  readonly kind = FrontDoorKind.FUNCTION_URL;
  readonly signingService = SigningService.LAMBDA;
  /** Each model's function URL, by model name. */
  readonly urls = new Map<string, lambda.CfnUrl>();
  private readonly auth: keyof typeof URL_AUTH_TYPE;
  /** The CloudFront distribution in front, with `cloudFront`. */
  readonly edge?: FunctionUrlDistribution;
  private readonly aliasArns: string[] = [];
  private readonly cors?: CorsSettings;

  constructor(scope: Construct, id: string, props: FunctionUrlDoorProps = {}) {
    super(scope, id);
    const auth = props.auth ?? Auth.IAM;
    const carried: readonly AuthMode[] = AUTH_OF_DOOR['function-url'];
    if (auth !== Auth.IAM && auth !== Auth.NONE) {
      throw new Error(
        `${this.node.path}: a function URL's auth type is AWS_IAM or NONE (${carried.map((mode) => `'${mode}'`).join(', ')}); got '${auth}' (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). API keys need the REST door, JWTs the HTTP door`,
      );
    }
    if (props.cloudFront && auth !== Auth.NONE) {
      throw new Error(
        `${this.node.path}: CloudFront does not authenticate its viewers, so a distribution in front of the URLs is open; write auth 'none' with cloudFront (the URLs stay AWS_IAM, invocable by the distribution only); got '${auth}'`,
      );
    }
    if (props.domain && !props.cloudFront) {
      throw new Error(
        `${this.node.path}: a function URL has no custom domain of its own; ${props.domain.name} needs cloudFront in front of the URLs`,
      );
    }
    this.auth = auth;
    this.cors = props.cors;
    if (props.cloudFront)
      this.edge = new FunctionUrlDistribution(this, 'Edge', props.domain ? { domain: props.domain } : {});
  }

  /**
   * Gives the model's `live` alias a function URL (`Qualifier: live`), in the model's stack, with an output naming
   * it; with auth `none`, the two public permissions a URL of auth type NONE needs. The L1 resource, not `FunctionUrl`:
   * that reads a qualifier only from an `Alias` construct, and the alias here is the release's (an import, to which
   * CDK adds no permissions).
   */
  addModel(endpoint: ModelEndpoint): void {
    const url = new lambda.CfnUrl(endpoint, 'Url', {
      // Behind CloudFront's origin access control the URL is AWS_IAM, whatever the viewers' auth.
      authType: this.edge ? lambda.FunctionUrlAuthType.AWS_IAM : URL_AUTH_TYPE[this.auth],
      targetFunctionArn: endpoint.fn.functionArn,
      qualifier: LIVE_ALIAS,
      invokeMode: lambda.InvokeMode.BUFFERED,
      ...(this.cors
        ? {
            cors: {
              allowOrigins: this.cors.allowOrigins,
              allowMethods: [...CORS_ALLOW_METHODS],
              allowHeaders: [...CORS_ALLOW_HEADERS],
              exposeHeaders: [...CORS_EXPOSE_HEADERS],
              maxAge: this.cors.maxAgeSeconds,
            },
          }
        : {}),
    });
    // The URL names the alias: the release creates it.
    url.node.addDependency(endpoint.release);
    this.edge?.addModel(endpoint, url);
    if (this.auth === Auth.NONE && !this.edge) {
      // Public: every caller may invoke through the URL, and only through it
      // (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html#urls-auth-none).
      endpoint.liveAlias.addPermission('PublicUrlInvoke', {
        principal: new iam.AnyPrincipal(),
        action: 'lambda:InvokeFunctionUrl',
        functionUrlAuthType: lambda.FunctionUrlAuthType.NONE,
        scope: endpoint,
      });
      endpoint.liveAlias.addPermission('PublicUrlInvokeFunction', {
        principal: new iam.AnyPrincipal(),
        action: 'lambda:InvokeFunction',
        invokedViaFunctionUrl: true,
        scope: endpoint,
      });
      for (const id of ['PublicUrlInvoke', 'PublicUrlInvokeFunction'])
        endpoint.node.findChild(id).node.addDependency(endpoint.release);
    }
    this.urls.set(endpoint.modelName, url);
    this.aliasArns.push(endpoint.liveAlias.functionArn);
    new CfnOutput(endpoint, 'FunctionUrl', {
      value: url.attrFunctionUrl,
      description: `${endpoint.modelName}'s function URL (its live alias): the HTTP contract under it; ${this.edge ? 'AWS_IAM, invoked by the CloudFront distribution only (call the Edge Url)' : this.auth === Auth.IAM ? 'sign requests with SigV4 for the service lambda' : 'open (auth NONE)'}`,
    });
  }

  /**
   * Lets a principal call every model's URL: `lambda:InvokeFunctionUrl` (for an `AWS_IAM` URL) and, as function URLs
   * created since October 2025 also require, `lambda:InvokeFunction` when invoked through a URL
   * (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html), on each `live` alias, also of models added later.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const resources = Lazy.list({ produce: () => this.aliasArns });
    const urlGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunctionUrl'],
      resourceArns: resources,
      conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': lambda.FunctionUrlAuthType.AWS_IAM } },
    });
    const invokeGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: resources,
      conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    });
    return urlGrant.combine(invokeGrant);
  }
}
