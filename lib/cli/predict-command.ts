import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { ResponseHeader } from '../core/contract/headers.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { runningLocalStack } from '../local/local-home.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './exit-codes.js';
import { parseVersionArgument } from './model-argument.js';

/**
 * Longest a prediction may take: the first request to a version loads it (a big model takes seconds locally), and
 * API Gateway ends a request after 29 s anyway.
 */
export const PREDICT_TIMEOUT_MS = 120_000;

/** Values of one output tensor printed as text; `--json` prints the answer whole. */
const PRINTED_VALUES = 20;

/** A request header as `--header` takes it: `Name: value`. */
const HEADER_PATTERN = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/;

/** Options of `sluice predict`. */
interface PredictOptions {
  readonly local?: boolean;
  readonly url?: string;
  readonly version?: number;
  readonly rows?: string;
  readonly file?: string;
  readonly header: string[];
  readonly json?: boolean;
  readonly sigv4?: boolean;
  readonly region?: string;
  readonly service?: string;
}

/** The request `sluice predict` sends: where, and the body as it goes. */
interface PredictRequest {
  readonly path: string;
  readonly body: string;
  /** V2 (`/v2/models/{m}/infer`) or the simple form (`/models/{m}/predict`). */
  readonly form: 'v2' | 'simple';
}

/**
 * `sluice predict <model> (--local | --url URL) (--rows JSON | --file BODY)`: sends one prediction request through the
 * HTTP contract, as a client would, and prints the answer. `--rows` are the rows of a single-input model, sent in
 * the simple form (`{"instances": rows}`); `--file` is a request body as is: a V2 body (`"inputs"` a list of tensors)
 * goes to `/v2/models/{m}/infer`, any other to `/models/{m}/predict`. Unversioned requests are answered by what the
 * alias routes to; `--version N` asks that version. Exit 1 when the server refuses (its `{"error"}` is the message).
 */
export function registerPredictCommand(program: Command, io: CliIo): void {
  program
    .command('predict')
    .description('send rows or a request body to a model over HTTP, as a client would, and print the answer')
    .argument('<model>', 'model name')
    .addOption(new Option('--local', 'the running local stack (npm start)').conflicts('url'))
    .option('--url <url>', 'the API base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod')
    .addOption(
      new Option('--rows <json>', 'rows of a single-input model, e.g. [[5.1,3.5,1.4,0.2]]').conflicts('file'),
    )
    .option(
      '--file <path>',
      'a JSON request body: V2 ({"inputs": [tensors]}) or simple ({"instances": rows})',
    )
    .option('--version <n>', 'ask this version instead of what the alias routes to', parseVersionArgument)
    .option(
      '--header <name: value>',
      'a request header, e.g. "x-api-key: ..." (repeatable)',
      (value: string, all: string[]) => [...all, value],
      [],
    )
    .option('--json', "print the server's answer as it came")
    .option(
      '--sigv4',
      "sign the request with SigV4 as an AWS SDK client does (api.auth iam): the AWS credentials of the environment or the SDK's default chain",
    )
    .option('--region <region>', 'with --sigv4: the region to sign for (default: from an AWS endpoint URL)')
    .option(
      '--service <service>',
      'with --sigv4: the service to sign for, execute-api or lambda (default: from an AWS endpoint URL)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        "  npx sluice predict iris --local --rows '[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]'\n" +
        '  npx sluice predict iris --local --version 2 --file body.json --json\n' +
        "  npx sluice predict iris --url https://abc123.execute-api.eu-west-1.amazonaws.com/prod --sigv4 --rows '[[5.1,3.5,1.4,0.2]]'\n" +
        "  npx sluice predict iris --url https://abc123.execute-api.eu-west-1.amazonaws.com/prod --header 'x-api-key: KEY' --rows '[[5.1,3.5,1.4,0.2]]'",
    )
    .action(async (model: string, options: PredictOptions) => {
      const headers = parseHeaders(options.header);
      const request = await buildRequest(model, options);
      const base = await baseUrl(options, io.env);
      const url = `${base}${request.path}`;
      const plain = { 'content-type': 'application/json', ...headers };
      const sent = options.sigv4 ? await signedHeaders(url, request.body, plain, options, io) : plain;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          body: request.body,
          headers: sent,
          signal: AbortSignal.timeout(PREDICT_TIMEOUT_MS),
        });
      } catch (error) {
        // With --local, the CLI's own message says the stack went away; a URL's failure is named here.
        if (options.local) throw error;
        throw new SluiceError(`cannot reach ${url}: ${describeFetchError(error)}`);
      }
      const text = await response.text();
      const served = response.headers.get(ResponseHeader.MODEL_VERSION);
      if (!response.ok) throw new SluiceError(`${model}: ${describeRefusal(response.status, text)}`);
      if (options.json) {
        io.stdout(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      io.stdout(describeAnswer(model, served, request.form, text));
    });
}

/**
 * The headers of the request signed with SigV4 (`--sigv4`): for the service and region of the URL's AWS host, or
 * `--service` and `--region`; with the credentials of the CLI's environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else the SDK's default chain (profiles, SSO, a role), loaded only
 * then.
 */
async function signedHeaders(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PredictOptions,
  io: CliIo,
): Promise<Record<string, string>> {
  const { signRequest, signingScopeOf } = await import('./sigv4-request.js');
  const parsed = new URL(url);
  const fromHost = signingScopeOf(parsed);
  const service = options.service ?? fromHost?.service;
  const region = options.region ?? fromHost?.region;
  if (service === undefined || region === undefined) {
    throw new UsageError(
      `--sigv4 cannot tell the service and region of ${parsed.host} (not an execute-api or lambda-url endpoint): give --service (execute-api or lambda) and --region`,
    );
  }
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = io.env;
  const credentials =
    accessKeyId && secretAccessKey
      ? {
          accessKeyId,
          secretAccessKey,
          ...(io.env.AWS_SESSION_TOKEN ? { sessionToken: io.env.AWS_SESSION_TOKEN } : {}),
        }
      : (await import('@aws-sdk/credential-provider-node')).defaultProvider();
  try {
    return await signRequest(
      { url: parsed, method: 'POST', headers, body },
      { service, region },
      credentials,
      new Date((io.now ?? Date.now)()),
    );
  } catch (error) {
    throw new SluiceError(`--sigv4: no AWS credentials to sign with: ${(error as Error).message}`);
  }
}

/** The `--header` values as a header object; a malformed one is a usage error. */
function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const match = HEADER_PATTERN.exec(value);
    if (!match) throw new UsageError(`--header must be "Name: value"; got ${JSON.stringify(value)}`);
    headers[(match[1] as string).toLowerCase()] = match[2] as string;
  }
  return headers;
}

/** Where the request goes: the local stack's API, or the URL given (without a trailing slash). */
async function baseUrl(options: PredictOptions, env: Record<string, string | undefined>): Promise<string> {
  if (options.local) {
    const info = await runningLocalStack(env);
    return info.apiUrl.replace(/\/+$/, '');
  }
  if (options.url === undefined) {
    throw new UsageError('predict needs a server: --local for the running local stack, or --url URL');
  }
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL; got ${JSON.stringify(options.url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL; got ${JSON.stringify(options.url)}`);
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
}

/** The request for `--rows` or `--file`; neither, or one that is not JSON, is a usage error. */
async function buildRequest(model: string, options: PredictOptions): Promise<PredictRequest> {
  const versioned = options.version === undefined ? '' : `/versions/${options.version}`;
  const name = encodeURIComponent(model);
  const simple = `/models/${name}${versioned}/predict`;
  if (options.rows !== undefined) {
    const rows = parseJsonArgument('--rows', options.rows);
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new UsageError(
        `--rows must be a JSON list of rows, e.g. [[5.1,3.5,1.4,0.2]]; got ${options.rows}`,
      );
    }
    // The rows as typed, so numbers keep their digits exactly.
    return { path: simple, body: `{"instances":${options.rows.trim()}}`, form: 'simple' };
  }
  if (options.file === undefined) {
    throw new UsageError('predict needs something to send: --rows JSON, or --file with a request body');
  }
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${options.file} cannot be read: ${(error as Error).message}`);
  }
  const body = parseJsonArgument(`--file ${options.file}`, text);
  const v2 = typeof body === 'object' && body !== null && 'inputs' in body && Array.isArray(body.inputs);
  return v2
    ? { path: `/v2/models/${name}${versioned}/infer`, body: text, form: 'v2' }
    : { path: simple, body: text, form: 'simple' };
}

function parseJsonArgument(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not JSON: ${(error as Error).message}`);
  }
}

/** A refusal in one phrase: the status and the server's own `{"error"}`, or the start of what it sent. */
function describeRefusal(status: number, text: string): string {
  try {
    const error: unknown = JSON.parse(text).error;
    if (typeof error === 'string') return `the server answered ${status}: ${error}`;
  } catch {
    // Not JSON: a gateway's own page, say.
  }
  return `the server answered ${status}: ${text.slice(0, 300) || '(no body)'}`;
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/** An answer for people: the version that served, then one line per prediction (simple) or output (V2). */
function describeAnswer(
  model: string,
  served: string | null,
  form: PredictRequest['form'],
  text: string,
): string {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return `${text}\n`;
  }
  const lines = [`${model} v${served ?? '?'} answered:`];
  if (form === 'simple' && isRecord(answer) && Array.isArray(answer.predictions)) {
    answer.predictions.forEach((prediction: unknown, row: number) => {
      lines.push(`  [${row}] ${JSON.stringify(prediction)}`);
    });
  } else if (isRecord(answer) && Array.isArray(answer.outputs)) {
    for (const output of answer.outputs) {
      if (!isRecord(output)) continue;
      const data = Array.isArray(output.data) ? output.data.flat(Number.POSITIVE_INFINITY) : [];
      const shown = data.slice(0, PRINTED_VALUES).map((value) => JSON.stringify(value));
      const more = data.length > PRINTED_VALUES ? `, … (${data.length} values; --json prints them all)` : '';
      const shape = Array.isArray(output.shape) ? `[${output.shape.join(', ')}]` : '';
      lines.push(
        `  ${String(output.name)} ${String(output.datatype)} ${shape}: [${shown.join(', ')}${more}]`,
      );
    }
  } else {
    lines.push(`  ${text}`);
  }
  return `${lines.join('\n')}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
