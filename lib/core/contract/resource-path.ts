import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A path template's parameter, `{name}` or greedy `{name+}`. */
const TEMPLATE_PARAMETER = /\{([A-Za-z0-9_]+)\+?\}/g;

/**
 * The request's path as the API defines it: the event's `resource` (the API Gateway resource template, e.g.
 * `/v2/models/iris/{proxy+}`) with its parameters filled in from `pathParameters`. Unlike `event.path`, it carries
 * no base path of a custom domain mapping (`/api/v2/models/iris/infer` behind a mapping with base path `api`), so
 * routes match whichever domain the request came through. Events without a resource (hand-made ones) fall back to
 * `event.path`, as do resources whose parameters the event does not carry.
 *
 * API Gateway's proxy event: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 *
 * @example
 * resourcePath({ resource: '/v2/models/iris/{proxy+}', pathParameters: { proxy: 'infer' }, path: '/api/v2/models/iris/infer' });
 * // '/v2/models/iris/infer'
 */
export function resourcePath(
  event: Pick<APIGatewayProxyEvent, 'resource' | 'path' | 'pathParameters'>,
): string {
  const { resource } = event;
  if (typeof resource !== 'string' || resource === '') return event.path;
  // A resource without parameters is the path itself (the local emulator's, one resource per path).
  if (!resource.includes('{')) return resource;
  const parameters = event.pathParameters ?? {};
  let missing = false;
  const filled = resource.replace(TEMPLATE_PARAMETER, (_match, name: string) => {
    const value = Object.hasOwn(parameters, name) ? parameters[name] : undefined;
    if (value === undefined) {
      missing = true;
      return '';
    }
    return value;
  });
  return missing ? event.path : filled;
}
