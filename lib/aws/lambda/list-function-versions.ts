import {
  type FunctionConfiguration,
  type LambdaClient,
  paginateListVersionsByFunction,
} from '@aws-sdk/client-lambda';

/**
 * Every version of a function (`$LATEST` and the published ones), following Lambda's pages with the SDK's paginator
 * (https://aws.amazon.com/blogs/developer/pagination-using-async-iterators-in-modular-aws-sdk-for-javascript/).
 *
 * @example
 * const found = findPublishedVersion(await listFunctionVersions(lambda, 'Sluice-Iris-AbC'), 'iris', 4);
 */
export async function listFunctionVersions(
  lambda: LambdaClient,
  functionName: string,
): Promise<FunctionConfiguration[]> {
  const versions: FunctionConfiguration[] = [];
  for await (const page of paginateListVersionsByFunction(
    { client: lambda },
    { FunctionName: functionName },
  )) {
    versions.push(...(page.Versions ?? []));
  }
  return versions;
}
