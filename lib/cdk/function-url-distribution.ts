import { CfnOutput, Resource } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  CLOUDFRONT_CERTIFICATE_REGION,
  type CustomDomain,
  certificateRegion,
} from '../core/config/deploy-config.js';
import { domainTargetOutput } from './custom-domain.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings } from './nag-suppressions.js';

/**
 * CloudFront's default "Cache behaviors per distribution", adjustable
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html): each model takes four.
 */
export const CACHE_BEHAVIORS_PER_DISTRIBUTION = 25;

/**
 * A model's function URL as CloudFront's origin reads one: the URL of the release's `live` alias (an `AWS_IAM` URL),
 * and the alias-qualified ARN that CloudFront's invoke permissions name.
 */
class AliasFunctionUrl extends Resource implements lambda.IFunctionUrl {
  readonly url: string;
  readonly functionArn: string;
  readonly authType = lambda.FunctionUrlAuthType.AWS_IAM;

  constructor(scope: Construct, id: string, url: lambda.CfnUrl, endpoint: ModelEndpoint) {
    super(scope, id);
    this.url = url.attrFunctionUrl;
    this.functionArn = endpoint.liveAlias.functionArn;
  }

  get urlRef(): lambda.UrlReference {
    return { functionArn: this.functionArn };
  }

  grantInvokeUrl(grantee: iam.IGrantable): iam.Grant {
    throw new Error(
      `${this.node.path}: behind CloudFront only the distribution invokes the URL; got ${grantee}`,
    );
  }
}

/**
 * A CloudFront distribution in front of the models' function URLs, with origin access control: CloudFront signs each
 * request to a URL (SigV4, always), which is `AWS_IAM` and may be invoked by this distribution only
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html).
 * One host for every model: `/v2/models/{m}`, `/v2/models/{m}/*`, `/models/{m}` and `/models/{m}/*` to model m's URL,
 * everything else (server routes, unknown paths) to the first model's. Nothing is cached; every viewer header but
 * Host reaches the URL (the signature is over the URL's host). Viewers are not authenticated: the distribution is
 * open, so the config writes it as `auth: "none"`. A `POST` must carry the body's SHA-256 in `x-amz-content-sha256`.
 *
 * @example
 * const edge = new FunctionUrlDistribution(this, 'Edge');
 * edge.addModel(irisEndpoint, irisUrl);
 */
export class FunctionUrlDistribution extends Construct {
  /** The distribution, once the first model is added. */
  distribution?: cloudfront.Distribution;
  private readonly pending: { endpoint: ModelEndpoint; origin: cloudfront.IOrigin }[] = [];

  private readonly domain?: CustomDomain;

  /** @param props.domain a custom domain for the distribution, its certificate in us-east-1. @default none */
  constructor(scope: Construct, id: string, props: { readonly domain?: CustomDomain } = {}) {
    super(scope, id);
    if (props.domain) {
      const region = certificateRegion(props.domain.certificateArn);
      if (region !== CLOUDFRONT_CERTIFICATE_REGION) {
        throw new Error(
          `${this.node.path}: CloudFront reads viewer certificates from ${CLOUDFRONT_CERTIFICATE_REGION} only; ${props.domain.certificateArn} is in ${region} (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html)`,
        );
      }
      this.domain = props.domain;
    }
    this.node.addValidation({
      validate: () => {
        const behaviors = this.pending.length * 4;
        return behaviors <= CACHE_BEHAVIORS_PER_DISTRIBUTION
          ? []
          : [
              `CloudFront in front of ${this.pending.length} models needs ${behaviors} cache behaviors (4 per model); a distribution has ${CACHE_BEHAVIORS_PER_DISTRIBUTION} by default ("Cache behaviors per distribution", adjustable: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html). Ask AWS to raise it, or deploy fewer models per app`,
            ];
      },
    });
  }

  /** Routes a model's paths to its function URL, through origin access control. */
  addModel(endpoint: ModelEndpoint, url: lambda.CfnUrl): void {
    const functionUrl = new AliasFunctionUrl(endpoint, 'UrlForCloudFront', url, endpoint);
    const origin = origins.FunctionUrlOrigin.withOriginAccessControl(functionUrl);
    const behavior: cloudfront.AddBehaviorOptions = {
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    this.pending.push({ endpoint, origin });
    const before = new Set(this.permissions());
    if (!this.distribution) {
      this.distribution = new cloudfront.Distribution(this, 'Distribution', {
        comment: 'sluice inference API (function URLs behind origin access control)',
        defaultBehavior: { origin, ...behavior },
        ...(this.domain
          ? {
              domainNames: [this.domain.name],
              certificate: acm.Certificate.fromCertificateArn(
                this,
                'Certificate',
                this.domain.certificateArn,
              ),
              minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            }
          : {}),
      });
      if (this.domain) domainTargetOutput(this, this.domain, this.distribution.distributionDomainName);
      new CfnOutput(this, 'Url', {
        value: `https://${this.domain?.name ?? this.distribution.distributionDomainName}/`,
        description:
          'base URL of the inference API (CloudFront in front of the function URLs); POST bodies need x-amz-content-sha256',
      });
      acceptFindings(
        this.distribution,
        {
          id: 'AwsSolutions-CFR1',
          reason: 'No geo restriction: the models serve wherever their callers are.',
        },
        {
          id: 'AwsSolutions-CFR2',
          reason:
            'No WAF by default (it has a monthly cost); associate a web ACL where the threat model calls for one.',
        },
        {
          id: 'AwsSolutions-CFR3',
          reason:
            'No CloudFront access logs by default: the function logs every refused request and its metrics.',
        },
      );
      if (!this.domain) {
        acceptFindings(this.distribution, {
          id: 'AwsSolutions-CFR4',
          reason:
            "The distribution's own domain and certificate; a custom domain (api.domain) sets the TLS policy, TLS 1.2.",
        });
      }
    }
    const name = endpoint.modelName;
    for (const path of [`/v2/models/${name}`, `/v2/models/${name}/*`, `/models/${name}`, `/models/${name}/*`])
      this.distribution.addBehavior(path, origin, behavior);
    // CloudFront's invoke permissions (made as the origin is bound) name the alias: the release creates it.
    for (const permission of this.permissions()) {
      if (!before.has(permission)) permission.node.addDependency(endpoint.release);
    }
  }

  private permissions(): lambda.CfnPermission[] {
    return (this.distribution?.node.findAll() ?? []).filter(
      (child): child is lambda.CfnPermission => child instanceof lambda.CfnPermission,
    );
  }
}
