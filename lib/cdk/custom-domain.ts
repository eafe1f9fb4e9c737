import { CfnOutput, Stack, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { Construct } from 'constructs';
import { type CustomDomain, certificateRegion } from '../core/config/deploy-config.js';

/**
 * The certificate of an API Gateway regional custom domain, refused at synth when the stack's region is known and
 * the certificate is of another: a regional domain name takes a certificate of the API's own region
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html).
 * An environment-agnostic stack cannot be checked here; CloudFormation then refuses the domain name at deploy.
 *
 * @example
 * const certificate = regionalCertificate(this, { name: 'api.example.com', certificateArn });
 */
export function regionalCertificate(scope: Construct, domain: CustomDomain): acm.ICertificate {
  const region = Stack.of(scope).region;
  const given = certificateRegion(domain.certificateArn);
  if (!Token.isUnresolved(region) && given !== region) {
    throw new Error(
      `${scope.node.path}: the custom domain ${domain.name} needs a certificate in the API's region ${region}; ${domain.certificateArn} is in ${given} (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html)`,
    );
  }
  return acm.Certificate.fromCertificateArn(scope, 'Certificate', domain.certificateArn);
}

/**
 * The output a custom domain's DNS record points at: a CNAME (or a Route 53 alias record) from `domain.name` to
 * `target`, which the stack does not create (the zone may live anywhere).
 *
 * @example
 * domainTargetOutput(this, domain, domainName.domainNameAliasDomainName);
 */
export function domainTargetOutput(scope: Construct, domain: CustomDomain, target: string): void {
  new CfnOutput(scope, 'DomainTarget', {
    value: target,
    description: `point a CNAME (or a Route 53 alias record) for ${domain.name} at this; the API is then https://${domain.name}/`,
  });
}
