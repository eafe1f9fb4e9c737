import type { UpdateAliasCommandInput } from '@aws-sdk/client-lambda';

/**
 * The alias configuration for a routing, given the Lambda versions serving its stable and candidate model
 * versions: the stable one primary and the candidate at `weight` percent, or the candidate primary at 100
 * (Lambda takes additional weights in [0, 1) only). An unknown stable version leaves the primary unset.
 *
 * @example
 * aliasRouting('5', '6', 10); // { FunctionVersion: '5', RoutingConfig: { AdditionalVersionWeights: { '6': 0.1 } } }
 */
export function aliasRouting(
  stable: string | undefined,
  candidate: string | undefined,
  weight: number,
): Pick<UpdateAliasCommandInput, 'FunctionVersion' | 'RoutingConfig'> {
  const primary = candidate !== undefined && weight >= 100 ? candidate : stable;
  const additional =
    candidate !== undefined && primary !== candidate ? { [candidate]: weight / 100 } : undefined;
  return {
    ...(primary === undefined ? {} : { FunctionVersion: primary }),
    RoutingConfig: additional === undefined ? {} : { AdditionalVersionWeights: additional },
  };
}
