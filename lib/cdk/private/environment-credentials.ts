import { fileURLToPath } from 'node:url';

/** The SDK package that builds the default credential chain every client falls back to. */
const DEFAULT_CHAIN = '@aws-sdk/credential-provider-node';

/**
 * The esbuild `alias` entry that gives a function's SDK clients the environment's credentials as their default,
 * in place of the SDK's whole default chain.
 *
 * In Lambda the chain's first provider always answers: the runtime sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN to "the access keys obtained from the function's execution role"
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime). The rest
 * of the chain (shared files, SSO, login, web identity, process, container and instance metadata, with the STS, SSO
 * and sign-in clients they call) is never run there, but the client requires it by `require`, which esbuild cannot
 * split off, so every cold start compiled it: about 100 KB of the predict bundle, 30 ms of its cold start on this
 * 2-core machine (medians of 13 alternating runs, 2026-12-03). The stand-in (`lib/aws/lambda-runtime/credentials-from-environment.cjs`)
 * exports the chain's `defaultProvider` as `fromEnv`; credentials given to a client explicitly (the embedded
 * store's) are used as before. An alias rather than a plugin because the function bundler runs `buildSync`.
 *
 * @example
 * buildSync({ entryPoints: [entry], bundle: true, alias: { ...environmentCredentials() } });
 */
export function environmentCredentials(): Record<string, string> {
  return {
    [DEFAULT_CHAIN]: fileURLToPath(
      new URL('../../aws/lambda-runtime/credentials-from-environment.cjs', import.meta.url),
    ),
  };
}
