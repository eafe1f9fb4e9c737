import {
  type FunctionConfiguration,
  type LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';

/**
 * Every version of a function (`$LATEST` and the published ones), following Lambda's pages.
 *
 * @example
 * const found = findPublishedVersion(await listFunctionVersions(lambda, 'Sluice-Iris-AbC'), 'iris', 4);
 */
export async function listFunctionVersions(
  lambda: LambdaClient,
  functionName: string,
): Promise<FunctionConfiguration[]> {
  const versions: FunctionConfiguration[] = [];
  let marker: string | undefined;
  do {
    const page = await lambda.send(
      new ListVersionsByFunctionCommand({
        FunctionName: functionName,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    versions.push(...(page.Versions ?? []));
    marker = page.NextMarker;
  } while (marker !== undefined);
  return versions;
}
