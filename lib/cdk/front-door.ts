import type * as iam from 'aws-cdk-lib/aws-iam';
import type { FrontDoorKind } from '../core/config/deploy-config.js';
import type { CorsSettings } from '../core/contract/cors.js';
import type { ModelEndpoint } from './model-endpoint.js';

/** The SigV4 service names of the doors. */
export const SigningService = { EXECUTE_API: 'execute-api', LAMBDA: 'lambda' } as const;
/** A SigV4 service name. */
export type SigningService = (typeof SigningService)[keyof typeof SigningService];

/**
 * What every front door (REST API, HTTP API, function URLs) does for the stack: route a model's paths to its `live`
 * alias, and let a principal call what it routes. The doors differ in what they carry (README "Front doors").
 *
 * @example
 * const door: FrontDoor = new HttpInferenceApi(this, 'Api', { auth: 'iam' });
 * door.addModel(irisEndpoint);
 * door.grantInvoke(clientRole);
 */
export interface FrontDoor {
  /** Which door this is. */
  readonly kind: FrontDoorKind;
  /**
   * The service name in the SigV4 credential scope of a request to this door with IAM auth: `execute-api` for API
   * Gateway (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html),
   * `lambda` for a function URL (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
   */
  readonly signingService: SigningService;
  /**
   * The CORS settings the model functions must apply to their own answers: a REST API's proxy integrations pass the
   * function's headers through and add none. Undefined where the door adds them itself (HTTP API, function URLs) or
   * CORS is off.
   */
  readonly functionCors?: CorsSettings;
  /** Routes a model's paths to its `live` alias, in the stack that holds the model. */
  addModel(endpoint: ModelEndpoint): void;
  /** Lets a principal call every model the door routes, as its IAM auth requires of callers. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}
