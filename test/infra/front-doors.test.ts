import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type FrontDoor, SigningService } from '../../lib/cdk/front-door.js';
import { FunctionUrlDoor } from '../../lib/cdk/function-url-door.js';
import { HttpInferenceApi } from '../../lib/cdk/http-inference-api.js';
import { InferenceApi } from '../../lib/cdk/inference-api.js';
import { DeployConfigError, parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { type SignedRequest, sigV4Refusal } from '../fixtures/sigv4-check.js';
import { configWith, SHA_A, synth } from './stack-fixture.js';

type Resources = Record<string, { Properties: Record<string, unknown>; DependsOn?: string[] }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function propertiesOf(template: Template, type: string): Record<string, unknown>[] {
  return Object.values(resourcesOf(template, type)).map((resource) => resource.Properties);
}

const JWT = {
  issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example',
  audience: ['client-id'],
  scopes: ['sluice/predict'],
};

/** The AWS principal of every door's callers, granted through `FrontDoor.grantInvoke`. */
function withCaller(stack: Stack & { frontDoor: FrontDoor }): void {
  stack.frontDoor.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() }));
}

// cdk-nag runs on the stacks as deployed; the stacks with a caller role (whose grant names every route: `/*`) are
// for reading the grants.
const rest = synth(configWith(), { extend: withCaller });
const http = synth(configWith({ api: { door: 'http' } }), { nag: true });
const httpCaller = synth(configWith({ api: { door: 'http' } }), { extend: withCaller });
const httpJwt = synth(configWith({ api: { door: 'http', auth: 'jwt', jwt: JWT } }), { nag: true });
const urls = synth(configWith({ api: { door: 'function-url' } }), { nag: true });
const urlsCaller = synth(configWith({ api: { door: 'function-url' } }), { extend: withCaller });
const publicUrls = synth(configWith({ api: { door: 'function-url', auth: 'none' } }), { nag: true });

function nagErrors(stack: Stack): string[] {
  return Annotations.fromStack(stack)
    .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
    .map((entry) => `${entry.id}: ${String(entry.entry.data)}`);
}

describe('front doors: the REST API with IAM auth stays the default', () => {
  it('a config without api.door deploys the REST API, with nothing of the HTTP API or function URLs', () => {
    const config = configWith();
    assert.equal(config.api.door, 'rest');
    assert.equal(config.api.auth, 'iam');
    assert.ok(rest.stack.frontDoor instanceof InferenceApi);
    assert.equal(propertiesOf(rest.template, 'AWS::ApiGateway::RestApi').length, 1);
    assert.equal(propertiesOf(rest.template, 'AWS::ApiGatewayV2::Api').length, 0);
    assert.equal(propertiesOf(rest.template, 'AWS::Lambda::Url').length, 0);
  });

  it('SluiceStack.api is the REST API, and says so when the door is another', () => {
    assert.ok(rest.stack.api instanceof InferenceApi);
    assert.throws(() => http.stack.api, /front door is "http", not the REST API/);
  });
});

describe('HTTP API door: per-model routes to the live alias, payload format 2.0, IAM by default', () => {
  it('is an HTTP API with an auto-deployed $default stage, throttled per route and access-logged', () => {
    http.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    http.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: Match.objectLike({ Format: Match.stringLikeRegexp('\\$context.requestId') }),
    });
    assert.equal(propertiesOf(http.template, 'AWS::ApiGateway::RestApi').length, 0);
  });

  it("routes the model's four paths and $default through one 2.0 proxy integration of the live alias", () => {
    const [integration, ...more] = propertiesOf(http.template, 'AWS::ApiGatewayV2::Integration');
    assert.equal(more.length, 0);
    assert.deepEqual(integration?.IntegrationType, 'AWS_PROXY');
    assert.equal(integration?.PayloadFormatVersion, '2.0');
    assert.match(
      JSON.stringify(integration?.IntegrationUri),
      /ModelirisFunction[0-9A-F]+","Arn"\]\},":live"/,
    );
    const keys = propertiesOf(http.template, 'AWS::ApiGatewayV2::Route').map((route) => route.RouteKey);
    assert.deepEqual(keys.sort(), [
      '$default',
      'ANY /models/iris',
      'ANY /models/iris/{proxy+}',
      'ANY /v2/models/iris',
      'ANY /v2/models/iris/{proxy+}',
    ]);
  });

  it('demands IAM (SigV4) on every route, $default included', () => {
    for (const route of propertiesOf(http.template, 'AWS::ApiGatewayV2::Route'))
      assert.equal(route.AuthorizationType, 'AWS_IAM', String(route.RouteKey));
  });

  it('lets API Gateway invoke the alias through one permission per model for this API, after the release', () => {
    const permissions = Object.values(resourcesOf(http.template, 'AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'apigateway.amazonaws.com',
    );
    assert.equal(permissions.length, 1);
    const [permission] = permissions;
    assert.match(JSON.stringify(permission?.Properties.FunctionName), /":live"/);
    assert.match(JSON.stringify(permission?.Properties.SourceArn), /"\/\*\/\*\/\*"/);
    assert.ok(permission?.DependsOn?.some((id) => id.startsWith('ModelirisRelease')));
  });

  it('with jwt auth, one JWT authorizer (issuer, audience, the Authorization header) on every route, with its scopes', () => {
    httpJwt.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: JWT.issuer, Audience: JWT.audience },
    });
    for (const route of propertiesOf(httpJwt.template, 'AWS::ApiGatewayV2::Route')) {
      assert.equal(route.AuthorizationType, 'JWT');
      assert.ok(route.AuthorizerId);
      assert.deepEqual(route.AuthorizationScopes, ['sluice/predict'], 'the scopes jwt.scopes names');
    }
  });

  it('with auth none, routes are open and say so to cdk-nag', () => {
    const open = synth(configWith({ api: { door: 'http', auth: 'none' } }), { nag: true });
    for (const route of propertiesOf(open.template, 'AWS::ApiGatewayV2::Route'))
      assert.equal(route.AuthorizationType, 'NONE');
    assert.deepEqual(nagErrors(open.stack), []);
  });

  it('passes cdk-nag with IAM and with JWT', () => {
    assert.deepEqual(nagErrors(http.stack), []);
    assert.deepEqual(nagErrors(httpJwt.stack), []);
  });

  it('grantInvoke gives execute-api:Invoke on the API', () => {
    httpCaller.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:Invoke', Effect: 'Allow' })]),
      },
    });
  });

  it('refuses api-key auth at synth, naming the door', () => {
    const stack = new Stack(new App(), 'Refusal');
    assert.throws(() => new HttpInferenceApi(stack, 'Api', { auth: 'api-key' }), /REST APIs only/);
    assert.throws(() => new HttpInferenceApi(stack, 'Jwt', { auth: 'jwt' }), /jwt settings/);
  });
});

describe('function URL door: one URL per model, on its live alias, AWS_IAM by default', () => {
  it("gives the model's live alias a BUFFERED URL with AuthType AWS_IAM, after the release, and no API Gateway", () => {
    const [url] = Object.values(resourcesOf(urls.template, 'AWS::Lambda::Url'));
    assert.equal(url?.Properties.AuthType, 'AWS_IAM');
    assert.equal(url?.Properties.Qualifier, 'live');
    assert.equal(url?.Properties.InvokeMode, 'BUFFERED');
    assert.match(JSON.stringify(url?.Properties.TargetFunctionArn), /ModelirisFunction/);
    assert.ok(url?.DependsOn?.some((id) => id.startsWith('ModelirisRelease')));
    assert.equal(propertiesOf(urls.template, 'AWS::ApiGateway::RestApi').length, 0);
    assert.equal(propertiesOf(urls.template, 'AWS::ApiGatewayV2::Api').length, 0);
    const outputs = urls.template.findOutputs('*');
    assert.ok(Object.keys(outputs).some((id) => id.startsWith('ModelirisFunctionUrl')));
  });

  it('with AWS_IAM, adds no resource-based permission: callers need identity policies (grantInvoke)', () => {
    const permissions = propertiesOf(urls.template, 'AWS::Lambda::Permission');
    assert.ok(permissions.every((permission) => permission.Principal !== '*'));
  });

  it('grantInvoke gives lambda:InvokeFunctionUrl (AWS_IAM URLs) and lambda:InvokeFunction through a URL, on the alias', () => {
    urlsCaller.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunctionUrl',
            Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
            Resource: { 'Fn::Join': ['', [Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }), ':live']] },
          }),
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
          }),
        ]),
      },
    });
  });

  it('with auth none: AuthType NONE and the two public permissions such a URL needs', () => {
    publicUrls.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', Qualifier: 'live' });
    publicUrls.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    publicUrls.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
  });

  it('passes cdk-nag', () => {
    assert.deepEqual(nagErrors(urls.stack), []);
    assert.deepEqual(nagErrors(publicUrls.stack), []);
  });

  it('refuses an authentication a function URL cannot carry', () => {
    const stack = new Stack(new App(), 'Refusal');
    assert.throws(() => new FunctionUrlDoor(stack, 'Urls', { auth: 'jwt' }), /AWS_IAM or NONE/);
  });
});

describe('config: each door takes only the authentication it can carry', () => {
  const refusal = (api: Record<string, unknown>) => () =>
    parseDeployConfig({ api, models: [{ name: 'iris', version: 1, sha256: SHA_A }] }, 'test config');

  it('api-key only on REST (usage plans are REST API features)', () => {
    for (const door of ['http', 'function-url'])
      assert.throws(
        refusal({ door, auth: 'api-key', quota: { limit: 1000, period: 'DAY' } }),
        (error: unknown) =>
          error instanceof DeployConfigError &&
          /api\.auth.*not an authentication the ".*" door/s.test(error.message),
      );
  });

  it('jwt only on the HTTP API, and only with its issuer and audience', () => {
    assert.throws(refusal({ auth: 'jwt', jwt: JWT }), /JWT authorizers are an HTTP API feature/);
    assert.throws(refusal({ door: 'function-url', auth: 'jwt', jwt: JWT }), /"function-url" door/);
    assert.throws(refusal({ door: 'http', auth: 'jwt' }), /api\.jwt.*needs its authorizer/s);
    assert.throws(refusal({ door: 'http', jwt: JWT }), /api\.jwt.*auth "iam" has none/s);
    assert.throws(
      refusal({ door: 'http', auth: 'jwt', jwt: { ...JWT, issuer: 'http://insecure.example.com' } }),
      /https/,
    );
  });

  it('no throttle on a function URL (reserved concurrency is its only limit)', () => {
    assert.throws(
      refusal({ door: 'function-url', methodRateLimit: 10 }),
      /function URL has no request throttle/,
    );
  });

  it('no unknown door', () => {
    assert.throws(refusal({ door: 'alb' }), /api\.door/);
  });

  it('the REST API refuses jwt at synth too', () => {
    assert.throws(
      () => new InferenceApi(new Stack(new App(), 'Refusal'), 'Api', { auth: 'jwt' }),
      /HTTP API door/,
    );
  });
});

describe('SigV4: a request signed as an AWS SDK client signs it is what each IAM door demands', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const region = 'eu-west-1';
  const body = '{"instances": [[5.1, 3.5, 1.4, 0.2]]}';

  /** Signs as the SDK's clients do: SignatureV4 with the SDK's own SHA-256, at a fixed time. */
  async function signed(service: string, hostname: string, path: string): Promise<SignedRequest> {
    const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
    const request = await signer.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname,
        path,
        headers: { host: hostname, 'content-type': 'application/json' },
        body,
      },
      { signingDate: new Date('2026-12-03T07:00:00Z') },
    );
    return { method: request.method, path: request.path, headers: request.headers, body };
  }

  /**
   * What each door's template demands of a caller: IAM auth on what routes to the model, and the SigV4 service
   * that auth checks (execute-api for API Gateway, lambda for a function URL; see test/fixtures/sigv4-check.ts).
   */
  const doors = [
    {
      name: 'rest',
      stack: rest.stack,
      hostname: 'abc123.execute-api.eu-west-1.amazonaws.com',
      path: '/prod/models/iris/predict',
      demandsIam: () =>
        propertiesOf(rest.template, 'AWS::ApiGateway::Method')
          .filter((method) => method.HttpMethod === 'ANY')
          .every((method) => method.AuthorizationType === 'AWS_IAM'),
      service: SigningService.EXECUTE_API,
      action: 'execute-api:Invoke',
      template: rest.template,
    },
    {
      name: 'http',
      stack: httpCaller.stack,
      hostname: 'abc123.execute-api.eu-west-1.amazonaws.com',
      path: '/models/iris/predict',
      demandsIam: () =>
        propertiesOf(httpCaller.template, 'AWS::ApiGatewayV2::Route').every(
          (route) => route.AuthorizationType === 'AWS_IAM',
        ),
      service: SigningService.EXECUTE_API,
      action: 'execute-api:Invoke',
      template: httpCaller.template,
    },
    {
      name: 'function-url',
      stack: urlsCaller.stack,
      hostname: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws',
      path: '/models/iris/predict',
      demandsIam: () =>
        propertiesOf(urlsCaller.template, 'AWS::Lambda::Url').every((url) => url.AuthType === 'AWS_IAM'),
      service: SigningService.LAMBDA,
      action: 'lambda:InvokeFunctionUrl',
      template: urlsCaller.template,
    },
  ] as const;

  for (const door of doors) {
    it(`${door.name}: IAM auth in the template, a request signed for ${door.service} verifies, one signed for another service does not`, async () => {
      assert.ok(door.demandsIam(), `${door.name} does not demand IAM auth`);
      assert.equal(door.stack.frontDoor.signingService, door.service);
      const request = await signed(door.stack.frontDoor.signingService, door.hostname, door.path);
      const expectation = { service: door.service, region, ...credentials };
      assert.equal(sigV4Refusal(request, expectation), undefined);
      const other =
        door.service === SigningService.LAMBDA ? SigningService.EXECUTE_API : SigningService.LAMBDA;
      assert.match(
        String(sigV4Refusal(await signed(other, door.hostname, door.path), expectation)),
        /signed for the service/,
      );
      assert.match(String(sigV4Refusal({ ...request, body: `${body} ` }, expectation)), /hash|signature/);
      // The caller's permission is an action of the same service.
      door.template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: door.action })]) },
      });
    });
  }

  it("sends the body's SHA-256 in x-amz-content-sha256, which Lambda requires of POST through CloudFront's origin access control", async () => {
    const request = await signed(SigningService.LAMBDA, doors[2].hostname, '/models/iris/predict');
    const sha = new Sha256();
    sha.update(new TextEncoder().encode(body));
    const hash = Buffer.from(await sha.digest()).toString('hex');
    assert.equal(request.headers['x-amz-content-sha256'], hash);
    assert.match(String(request.headers.authorization), /SignedHeaders=[^,]*x-amz-content-sha256/);
  });
});

describe("model groups: a grouped model's door resources live in its nested stack", () => {
  const grouped = (door: string) =>
    synth(
      parseDeployConfig(
        {
          api: { door },
          models: [
            { name: 'iris', version: 1, sha256: SHA_A },
            { name: 'big', version: 1, sha256: SHA_A, group: 'vision' },
          ],
        },
        'test config',
      ),
      { nag: true },
    );
  const count = (template: Template, type: string) => Object.keys(template.findResources(type)).length;

  it('HTTP API: the grouped model has its four routes and its integration in the group, $default stays with the first', () => {
    const { stack, template } = grouped('http');
    const [group] = stack.groups;
    assert.ok(group);
    const nested = Template.fromStack(group);
    assert.equal(count(template, 'AWS::ApiGatewayV2::Route'), 5);
    assert.equal(count(nested, 'AWS::ApiGatewayV2::Route'), 4);
    assert.equal(count(nested, 'AWS::ApiGatewayV2::Integration'), 1);
    assert.deepEqual(nagErrors(stack), []);
  });

  it("function URLs: the grouped model's URL is in the group", () => {
    const { stack, template } = grouped('function-url');
    const [group] = stack.groups;
    assert.ok(group);
    assert.equal(count(template, 'AWS::Lambda::Url'), 1);
    assert.equal(count(Template.fromStack(group), 'AWS::Lambda::Url'), 1);
  });
});

describe('HTTP API quota: routes per API, checked at synth', () => {
  it('refuses an app whose models need more routes than the quota allows, naming it', () => {
    const app = new App();
    const stack = new Stack(app, 'Quota', { env: { account: '123456789012', region: 'eu-west-1' } });
    const api = new HttpInferenceApi(stack, 'Api', { routesPerApi: 3 });
    for (const path of ['/a', '/b', '/c', '/d'])
      new apigwv2.HttpRoute(stack, `Route${path}`, {
        httpApi: api.api,
        routeKey: apigwv2.HttpRouteKey.with(path),
        integration: new HttpUrlIntegration(`Integration${path}`, 'https://example.com'),
      });
    assert.throws(() => app.synth(), /needs 4 routes .* allows 3 per HTTP API/);
  });
});

describe('function URLs behind CloudFront (api.cloudFront): one host, origin access control, URLs invocable by the distribution only', () => {
  const edge = synth(configWith({ api: { door: 'function-url', auth: 'none', cloudFront: true } }), {
    nag: true,
  });

  it('keeps the URL AWS_IAM (origin access control signs for it) and adds no public permission', () => {
    edge.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', Qualifier: 'live' });
    assert.ok(
      propertiesOf(edge.template, 'AWS::Lambda::Permission').every(
        (permission) => permission.Principal !== '*',
      ),
    );
  });

  it('signs every request to the URL with SigV4 through a Lambda origin access control', () => {
    edge.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 'lambda',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
  });

  it('lets only this distribution invoke the alias through its URL (both actions), after the release', () => {
    const permissions = Object.values(resourcesOf(edge.template, 'AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'cloudfront.amazonaws.com',
    );
    assert.deepEqual(permissions.map((permission) => permission.Properties.Action).sort(), [
      'lambda:InvokeFunction',
      'lambda:InvokeFunctionUrl',
    ]);
    for (const permission of permissions) {
      assert.match(JSON.stringify(permission.Properties.FunctionName), /":live"/);
      assert.match(JSON.stringify(permission.Properties.SourceArn), /:distribution\//);
      assert.ok(permission.DependsOn?.some((id) => id.startsWith('ModelirisRelease')));
    }
  });

  it("routes the model's four paths to its URL, uncached, every method, every viewer header but Host", () => {
    const [distribution] = propertiesOf(edge.template, 'AWS::CloudFront::Distribution');
    const config = distribution?.DistributionConfig as {
      CacheBehaviors: { PathPattern: string; AllowedMethods: string[]; CachePolicyId: string }[];
      DefaultCacheBehavior: { AllowedMethods: string[] };
    };
    assert.deepEqual(
      config.CacheBehaviors.map((behavior) => behavior.PathPattern),
      ['/v2/models/iris', '/v2/models/iris/*', '/models/iris', '/models/iris/*'],
    );
    for (const behavior of [...config.CacheBehaviors, config.DefaultCacheBehavior])
      assert.ok(behavior.AllowedMethods.includes('POST'));
    // The managed CachingDisabled policy.
    assert.ok(
      config.CacheBehaviors.every(
        (behavior) => behavior.CachePolicyId === '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      ),
    );
  });

  it('passes cdk-nag, its accepted findings written down', () => {
    assert.deepEqual(nagErrors(edge.stack), []);
  });

  it('is refused without auth "none" (CloudFront does not authenticate viewers) and with another door', () => {
    const config = (api: Record<string, unknown>) => () =>
      parseDeployConfig({ api, models: [{ name: 'iris', version: 1, sha256: SHA_A }] }, 'test config');
    assert.throws(
      config({ door: 'function-url', cloudFront: true }),
      /CloudFront does not authenticate its viewers/,
    );
    assert.throws(config({ door: 'http', cloudFront: true }), /api\.cloudFront.*the door is "http"/s);
    assert.throws(
      () => new FunctionUrlDoor(new Stack(new App(), 'Refusal'), 'Urls', { auth: 'iam', cloudFront: true }),
      /write auth 'none' with cloudFront/,
    );
  });
});

describe('CORS (api.cors): off by default; with it, each door answers preflights its own way', () => {
  const cors = { allowOrigins: ['https://app.example.com', 'http://localhost:5173'], maxAgeSeconds: 300 };
  const restCors = synth(configWith({ api: { cors } }), { nag: true });
  const oneOrigin = synth(configWith({ api: { cors: { allowOrigins: ['https://app.example.com'] } } }));
  const httpCors = synth(configWith({ api: { door: 'http', cors } }), { nag: true });
  const urlCors = synth(configWith({ api: { door: 'function-url', cors } }), { nag: true });
  const methods = (template: Template) => propertiesOf(template, 'AWS::ApiGateway::Method');

  it('without api.cors no door has a preflight method, CORS configuration or CORS headers in the function', () => {
    assert.equal(methods(rest.template).filter((method) => method.HttpMethod === 'OPTIONS').length, 0);
    for (const template of [http.template, urls.template]) {
      assert.doesNotMatch(JSON.stringify(template.toJSON()), /CorsConfiguration|"Cors"|SLUICE_CORS/);
    }
    assert.doesNotMatch(JSON.stringify(rest.template.toJSON()), /SLUICE_CORS|Access-Control/);
  });

  it('REST: an open OPTIONS mock on every resource (preflights carry no credentials); the function adds the headers', () => {
    const options = methods(restCors.template).filter((method) => method.HttpMethod === 'OPTIONS');
    const resources = Object.keys(resourcesOf(restCors.template, 'AWS::ApiGateway::Resource')).length;
    assert.equal(options.length, resources + 1, 'every resource and the root');
    for (const method of options) {
      assert.equal(method.AuthorizationType, 'NONE');
      assert.equal((method.Integration as { Type: string }).Type, 'MOCK');
    }
    const text = JSON.stringify(options);
    assert.match(text, /https:\/\/app\.example\.com/);
    assert.match(text, /http:\/\/localhost:5173/);
    assert.match(text, /inference-header-content-length/);
    const predict = propertiesOf(restCors.template, 'AWS::Lambda::Function').find((fn) =>
      JSON.stringify(fn.Environment).includes('SLUICE_MODEL"'),
    );
    assert.ok(predict, 'the predict function');
    const variables = (predict.Environment as { Variables: Record<string, string> }).Variables;
    assert.deepEqual(JSON.parse(variables.SLUICE_CORS ?? 'null'), cors);
    assert.deepEqual(nagErrors(restCors.stack), []);
  });

  it("REST: with one origin, API Gateway's own answers (errors, /v2, health) name it; with several, none can", () => {
    const header = "'https://app.example.com'";
    for (const response of propertiesOf(oneOrigin.template, 'AWS::ApiGateway::GatewayResponse')) {
      assert.deepEqual(response.ResponseParameters, {
        'gatewayresponse.header.Access-Control-Allow-Origin': header,
      });
    }
    const mocks = methods(oneOrigin.template).filter(
      (method) => method.HttpMethod === 'GET' && (method.Integration as { Type: string }).Type === 'MOCK',
    );
    assert.equal(mocks.length, 3, '/v2 and its two health routes');
    for (const mock of mocks) assert.match(JSON.stringify(mock.Integration), /Access-Control-Allow-Origin/);
    for (const response of propertiesOf(restCors.template, 'AWS::ApiGateway::GatewayResponse')) {
      assert.equal(response.ResponseParameters, undefined);
    }
  });

  it('HTTP API: API Gateway answers preflights from its CORS configuration; GET and POST routes, no ANY, no $default', () => {
    httpCors.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: cors.allowOrigins,
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: Match.arrayWith(['content-type', 'authorization']),
        ExposeHeaders: Match.arrayWith(['x-sluice-model-version']),
        MaxAge: 300,
      },
    });
    const keys = propertiesOf(httpCors.template, 'AWS::ApiGatewayV2::Route').map((route) =>
      String(route.RouteKey),
    );
    assert.equal(keys.length, 12);
    assert.ok(
      keys.every((key) => /^(GET|POST) \//.test(key)),
      keys.join(', '),
    );
    // The server routes still reach the first model's function, each by a GET route of its own.
    for (const path of ['/v2', '/v2/health/live', '/v2/health/ready', '/openapi.json']) {
      assert.ok(keys.includes(`GET ${path}`), path);
    }
    assert.doesNotMatch(JSON.stringify(httpCors.template.toJSON()), /SLUICE_CORS/);
    assert.deepEqual(nagErrors(httpCors.stack), []);
  });

  it("function URL: the URL's own CORS settings", () => {
    urlCors.template.hasResourceProperties('AWS::Lambda::Url', {
      Cors: {
        AllowOrigins: cors.allowOrigins,
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: Match.arrayWith(['content-type', 'x-amz-content-sha256']),
        ExposeHeaders: Match.arrayWith(['x-sluice-model-version', 'x-request-id']),
        MaxAge: 300,
      },
    });
    assert.doesNotMatch(JSON.stringify(urlCors.template.toJSON()), /SLUICE_CORS/);
    assert.deepEqual(nagErrors(urlCors.stack), []);
  });

  it('refuses an origin with a path, a trailing slash or upper case, and "*" beside other origins', () => {
    for (const allowOrigins of [
      ['https://app.example.com/'],
      ['https://App.example.com'],
      ['https://a.example/x'],
      ['*', 'https://a.example'],
    ]) {
      assert.throws(() => configWith({ api: { cors: { allowOrigins } } }), DeployConfigError);
    }
    assert.throws(() => configWith({ api: { cors: { allowOrigins: [] } } }), DeployConfigError);
  });
});

describe('custom domains (api.domain): a regional domain name for the APIs, CloudFront aliases for function URLs', () => {
  const REGIONAL = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
  const VIRGINIA = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
  const domain = (certificateArn: string) => ({ name: 'api.example.com', certificateArn });
  const restDomain = synth(configWith({ api: { domain: domain(REGIONAL) } }), { nag: true });
  const httpDomain = synth(configWith({ api: { door: 'http', domain: domain(REGIONAL) } }), { nag: true });
  const edgeDomain = synth(
    configWith({ api: { door: 'function-url', auth: 'none', cloudFront: true, domain: domain(VIRGINIA) } }),
    { nag: true },
  );
  const outputs = (template: Template) =>
    Object.entries(template.toJSON().Outputs as Record<string, { Value: unknown }>);

  it('REST: a regional domain name (TLS 1.2) with the certificate, mapped to the stage at its root, and its DNS target', () => {
    assert.deepEqual(propertiesOf(restDomain.template, 'AWS::ApiGateway::DomainName'), [
      {
        DomainName: 'api.example.com',
        EndpointConfiguration: { Types: ['REGIONAL'] },
        RegionalCertificateArn: REGIONAL,
        SecurityPolicy: 'TLS_1_2',
      },
    ]);
    const [mapping] = propertiesOf(restDomain.template, 'AWS::ApiGateway::BasePathMapping');
    assert.ok(mapping && mapping.BasePath === undefined, 'mapped at the root: no base path');
    assert.ok(mapping.Stage, 'mapped to the stage');
    const target = outputs(restDomain.template).find(([id]) => id.includes('DomainTarget'));
    assert.ok(target, 'the DNS target is an output');
    assert.match(JSON.stringify(target[1].Value), /RegionalDomainName/);
    assert.deepEqual(nagErrors(restDomain.stack), []);
  });

  it('HTTP API: a regional domain name (TLS 1.2) and an API mapping to the $default stage', () => {
    assert.deepEqual(propertiesOf(httpDomain.template, 'AWS::ApiGatewayV2::DomainName'), [
      {
        DomainName: 'api.example.com',
        DomainNameConfigurations: [
          { CertificateArn: REGIONAL, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
        ],
      },
    ]);
    const [mapping] = propertiesOf(httpDomain.template, 'AWS::ApiGatewayV2::ApiMapping');
    assert.equal(mapping?.Stage, '$default');
    assert.equal(mapping?.ApiMappingKey, undefined, 'mapped at the root: no mapping key');
    assert.ok(outputs(httpDomain.template).some(([id]) => id.includes('DomainTarget')));
    assert.deepEqual(nagErrors(httpDomain.stack), []);
  });

  it('function URLs behind CloudFront: the domain as an alias of the distribution, TLS 1.2, the Url output on it', () => {
    const [distribution] = propertiesOf(edgeDomain.template, 'AWS::CloudFront::Distribution');
    const config = distribution?.DistributionConfig as Record<string, unknown>;
    assert.deepEqual(config.Aliases, ['api.example.com']);
    assert.deepEqual(config.ViewerCertificate, {
      AcmCertificateArn: VIRGINIA,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    const url = outputs(edgeDomain.template).find(([id]) => id.includes('EdgeUrl'));
    assert.equal(url?.[1].Value, 'https://api.example.com/');
    assert.deepEqual(nagErrors(edgeDomain.stack), []);
  });

  it('refuses what AWS would refuse: a domain on bare function URLs, a CloudFront certificate outside us-east-1, a regional one of another region, no host name', () => {
    assert.throws(
      () =>
        parseDeployConfig({ api: { door: 'function-url', domain: domain(VIRGINIA) }, models: [] }, 'test'),
      (error: unknown) =>
        error instanceof DeployConfigError &&
        /a function URL has no custom domain of its own/.test(error.message),
    );
    assert.throws(
      () =>
        parseDeployConfig(
          {
            api: { door: 'function-url', auth: 'none', cloudFront: true, domain: domain(REGIONAL) },
            models: [],
          },
          'test',
        ),
      /CloudFront reads viewer certificates from us-east-1 only; this one is in eu-west-1/,
    );
    assert.throws(
      () => synth(configWith({ api: { domain: domain(VIRGINIA) } })),
      /needs a certificate in the API's region eu-west-1; .* is in us-east-1/,
    );
    assert.throws(
      () =>
        parseDeployConfig(
          { api: { domain: { name: 'API.Example', certificateArn: REGIONAL } }, models: [] },
          'test',
        ),
      /must be a lower-case host name/,
    );
  });
});
