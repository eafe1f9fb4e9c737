import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { WithBodyBytes } from '../core/contract/body-bytes.js';
import { type CorsSettings, corsHeaders, preflightHeaders } from '../core/contract/cors.js';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../core/contract/headers.js';
import { MAX_REQUEST_BYTES } from '../core/contract/limits.js';
import { buildProxyEvent } from '../core/contract/proxy-event.js';
import {
  HeadersTooLargeError,
  InvalidRequestError,
  MethodNotAllowedError,
  RequestTimeoutError,
  RequestTooLargeError,
  UrlTooLongError,
} from '../core/errors/request-errors.js';
import { alignedBodyBuffer } from '../core/tensor/binary-tensor.js';
import { httpErrorOf } from '../serving/http-errors.js';

/**
 * Longest URL (path and query) the emulator takes, in characters: API Gateway's "Length, in characters, of the URL
 * for a regional API" (sluice's REST API is regional), 10240
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
 * AWS counts the whole URL, host and stage included; the emulator counts what the client sent in the request line.
 */
export const MAX_URL_CHARS = 10_240;

/**
 * Largest header section the emulator takes, in bytes: API Gateway's "Total combined size of all header values,
 * including header names, values, any line terminators, and white space", 10240 bytes (same page as
 * {@link MAX_URL_CHARS}).
 */
export const MAX_HEADER_BYTES = 10_240;

/**
 * Node's own limit on the request line and headers, set above both API Gateway limits so that the emulator answers
 * them itself (414, 431); beyond it Node's parser gives up, and the emulator still answers from what it received.
 */
const NODE_MAX_HEADER_SIZE = 16 * 1024;

/** How long a request body may go without a byte before the emulator answers 408 and closes the connection. */
export const BODY_IDLE_TIMEOUT_MS = 30_000;

/** Longest part of a request line quoted in the emulator's refusal log. */
const MAX_LOGGED_TARGET_CHARS = 200;

/** A proxy-integration handler, as Lambda runs it behind API Gateway. */
export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** What a {@link LocalRoute} answers. */
export interface LocalReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  /** More response headers (a page's Content-Security-Policy, an asset's Cache-Control). @default none */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request to a {@link LocalRoute}: its method, path, query, headers and (for POST) body text. */
export interface LocalRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** The body as UTF-8 text; empty for GET. */
  readonly body: string;
}

/**
 * A plain route the emulator answers itself (e.g. `GET /metrics`, the stack's control routes), outside the API
 * contract. It may throw a domain error: the emulator answers it by the one status table.
 */
export interface LocalRoute {
  /** The methods it takes (GET also answers HEAD); any other answers 405. */
  readonly methods: readonly ('GET' | 'POST')[];
  readonly answer: (request: LocalRequest) => LocalReply | Promise<LocalReply>;
}

/** Options of {@link ApiGatewayEmulator}. */
export interface ApiGatewayEmulatorOptions {
  /** The handler every API request goes to. */
  readonly handler: ProxyHandler;
  /**
   * Extra routes by exact path, or by prefix when the key ends in `/*` (`/_sluice/health/*` answers
   * `/_sluice/health/iris`); methods they do not take answer 405. @default none
   */
  readonly localRoutes?: Readonly<Record<string, LocalRoute>>;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
  /**
   * Told of every request the emulator refuses itself (a body over the limit, a URL or headers too long, a body
   * ended early or stalled, a malformed request), as API Gateway logs them. @default none
   */
  readonly onRefused?: (refusal: Refusal) => void;
  /** Told of every fault while answering (a handler or local route that threw something not the client's doing). @default none */
  readonly onError?: (error: unknown, request: { method: string; path: string }) => void;
  /**
   * How long a request body may go without a byte arriving before the emulator answers 408 and closes the
   * connection (tests pass a short one). @default BODY_IDLE_TIMEOUT_MS
   */
  readonly bodyTimeoutMs?: number;
  /**
   * Which web pages may call the API's routes (sluice.config.json `api.cors`): preflights of those routes answered
   * here, as API Gateway's mock OPTIONS methods answer them, and CORS headers added to the handler's answers, as the
   * function adds them behind a REST API. The stack's own routes never take part. @default none: CORS off
   */
  readonly cors?: CorsSettings;
}

/** A request the emulator refused itself, as `onRefused` is told of it (a type, so a logger takes it as fields). */
export type Refusal = {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly error: string;
};

/**
 * An HTTP server that turns requests into API Gateway REST proxy events for a handler, like API Gateway does.
 *
 * What API Gateway refuses before a function is invoked, the emulator refuses itself with a JSON `{"error"}`: a body
 * over the payload limit (413), a URL over {@link MAX_URL_CHARS} (414), headers over {@link MAX_HEADER_BYTES} (431).
 * So does what a network between them would end: a body shorter than its Content-Length when the client ends the
 * request (400), a body stalled for `bodyTimeoutMs` (408), a request Node cannot parse (400). Every body reaches the
 * handler as API Gateway's `*\/*` binary media type has it pass them, base64 (whose bytes the handler reads as they
 * came, see `WithBodyBytes`); every answer carries a Content-Length.
 *
 * @example
 * const api = await ApiGatewayEmulator.start({ handler: (event) => app.handle(event), port: 3000 });
 */
export class ApiGatewayEmulator {
  private constructor(
    private readonly server: Server,
    /** The base URL, e.g. `http://127.0.0.1:3000`. */
    readonly url: string,
  ) {}

  /** Starts listening; resolves once the port is bound. */
  static async start(options: ApiGatewayEmulatorOptions): Promise<ApiGatewayEmulator> {
    const bodies = new WeakMap<Duplex, BodyProgress>();
    const routes = localRouteTable(options.localRoutes);
    const server = createServer({ maxHeaderSize: NODE_MAX_HEADER_SIZE }, (request, response) => {
      serve(options, routes, bodies, request, response).catch((error: unknown) => {
        // A local route's domain error (a bad query) answers by the status table; anything else is a fault,
        // logged with its path, never answered with its details.
        const reply = httpErrorOf(error);
        if (reply.status >= 500)
          options.onError?.(error, { method: request.method ?? 'GET', path: request.url ?? '/' });
        if (response.headersSent) response.end();
        else writeError(response, error);
      });
    });
    server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) =>
      answerClientError(options, bodies.get(socket), error, socket),
    );
    server.keepAliveTimeout = 65_000;
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 3000, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new ApiGatewayEmulator(server, `http://${host}:${port}`);
  }

  /** Stops accepting connections and closes idle ones. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function serve(
  options: ApiGatewayEmulatorOptions,
  routes: LocalRouteTable | undefined,
  bodies: WeakMap<Duplex, BodyProgress>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = request.url ?? '/';
  const method = request.method ?? 'GET';
  const oversized = oversizedRequest(url, request.rawHeaders);
  if (oversized) {
    refuse(options, { method, path: url }, oversized);
    writeError(response, oversized, { connection: 'close' });
    // Whatever body follows is read and dropped, so closing the connection does not reset it under the answer.
    request.resume();
    return;
  }
  const target = splitTarget(url);
  const local = routes && findLocalRoute(routes, target.path);
  const origin = request.headers.origin;
  if (options.cors && !local && method === 'OPTIONS' && request.headers['access-control-request-method']) {
    // A preflight from an origin not allowed gets no CORS headers: the browser then sends nothing.
    const headers = preflightHeaders(options.cors, origin) ?? {};
    response.writeHead(204, headers);
    response.end();
    request.resume();
    return;
  }
  const takes = local?.methods.some(
    (allowed) => allowed === method || (allowed === 'GET' && method === 'HEAD'),
  );
  if (local && !takes) {
    // A known path with the wrong method answers 405, as the API's own routes do.
    writeError(response, new MethodNotAllowedError(method, target.path, local.methods));
    return;
  }
  const read = await readBody(request, target.path, bodies, options.bodyTimeoutMs ?? BODY_IDLE_TIMEOUT_MS);
  // The client ended the request early: answered where Node reports it (answerClientError); the socket is gone.
  if (read.kind === 'aborted') return;
  if (read.kind !== 'body') {
    const refusal =
      read.kind === 'too-large'
        ? new RequestTooLargeError(`request body is larger than ${MAX_REQUEST_BYTES} bytes`)
        : new RequestTimeoutError(
            `the request body stalled: nothing arrived for ${read.idleMs} ms after ${read.received} bytes${read.expected === undefined ? '' : ` of the ${read.expected} its Content-Length announced`}; send the whole body without pausing`,
          );
    refuse(options, { method, path: target.path }, refusal);
    writeError(response, refusal, { connection: 'close' });
    return;
  }
  const body = read.bytes;
  if (local) {
    const reply = await local.answer({
      method,
      path: target.path,
      query: target.query ?? new URLSearchParams(),
      headers: request.headers,
      body: body.toString('utf8'),
    });
    response.writeHead(reply.status, { ...reply.headers, 'content-type': reply.contentType });
    response.end(method === 'HEAD' ? undefined : reply.body);
    return;
  }
  const result: APIGatewayProxyResult & WithBodyBytes = await options.handler(toEvent(request, target, body));
  const headers: Record<string, string | string[]> = {
    ...(result.headers as Record<string, string>),
    ...(options.cors ? corsHeaders(options.cors, origin) : {}),
  };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String);
  // A result made for the local stack carries its bytes; any other is decoded as API Gateway decodes it.
  const payload =
    result.bytes ?? (result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
  // API Gateway answers with a Content-Length, not in chunks; and one write is cheaper than chunked framing.
  headers['content-length'] = String(
    typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength,
  );
  response.writeHead(result.statusCode, headers);
  response.end(request.method === 'HEAD' ? undefined : payload);
}

/** Tells `onRefused` of a request the emulator refused itself. */
function refuse(
  options: ApiGatewayEmulatorOptions,
  request: { readonly method: string; readonly path: string },
  error: Error,
): void {
  options.onRefused?.({
    method: request.method,
    path: request.path.slice(0, MAX_LOGGED_TARGET_CHARS),
    status: httpErrorOf(error).status,
    error: error.message,
  });
}

/** The refusal of a URL or a header section API Gateway would not take, or undefined when both fit. */
function oversizedRequest(url: string, rawHeaders: readonly string[]): Error | undefined {
  if (url.length > MAX_URL_CHARS) return urlTooLong(url.length);
  // Each header line is `name: value\r\n`.
  let bytes = 0;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    // Node reads header bytes as latin1: one character per byte.
    bytes += (rawHeaders[index] as string).length + (rawHeaders[index + 1] as string).length + 4;
  }
  return bytes > MAX_HEADER_BYTES ? headersTooLarge(`${bytes} bytes`) : undefined;
}

function urlTooLong(length: number | undefined): UrlTooLongError {
  return new UrlTooLongError(
    `the URL is ${length === undefined ? `more than ${NODE_MAX_HEADER_SIZE}` : length} characters; API Gateway takes at most ${MAX_URL_CHARS} (a regional REST API's limit): send long values in the request body, not the query string`,
  );
}

function headersTooLarge(size: string): HeadersTooLargeError {
  return new HeadersTooLargeError(
    `the request headers take ${size}; API Gateway takes at most ${MAX_HEADER_BYTES} bytes of headers in all`,
  );
}

/**
 * Answers what Node's HTTP parser gave up on, where it would otherwise reset the connection or answer in plain text:
 * a request line or headers past its limit (414 when the request line alone is too long, 431 otherwise), a body the
 * client ended before its Content-Length (400, with how far it got), a request that timed out (408), anything else
 * malformed (400). The answer is JSON, like every other; then the connection closes, after what the client is still
 * sending has been read (closing on unread data would reset the connection under the answer).
 */
function answerClientError(
  options: ApiGatewayEmulatorOptions,
  body: BodyProgress | undefined,
  error: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Duplex,
): void {
  // Node reports the rest of an overflowing request again once the first report has been answered.
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const line = requestLine(error.rawPacket);
  let refusal: Error;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    refusal =
      line.complete && line.length <= MAX_URL_CHARS
        ? headersTooLarge(`more than ${NODE_MAX_HEADER_SIZE} bytes`)
        : urlTooLong(line.complete ? line.length : undefined);
  } else if (error.code === 'HPE_INVALID_EOF_STATE' && body) {
    refusal = new InvalidRequestError(
      `the request ended after ${body.received} bytes of its body${body.expected === undefined ? ', before its last chunk' : `, but its Content-Length announced ${body.expected}`}; send the whole body`,
    );
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    refusal = new RequestTimeoutError('the request was not received in time; send it without pausing');
  } else {
    refusal = new InvalidRequestError(`malformed HTTP request (${error.message}); send HTTP/1.1`);
  }
  refuse(options, body?.request ?? { method: line.method, path: line.target }, refusal);
  const reply = httpErrorOf(refusal);
  const text = JSON.stringify(reply.body);
  socket.end(
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
  socket.resume();
  // A client that never finishes sending is cut off after a while.
  setTimeout(() => socket.destroy(), options.bodyTimeoutMs ?? BODY_IDLE_TIMEOUT_MS).unref();
}

/** What a refusal log and message can say of a request line Node could not parse: method, target, its length. */
function requestLine(raw: Buffer | undefined): {
  method: string;
  target: string;
  length: number;
  complete: boolean;
} {
  if (!raw) return { method: '?', target: '?', length: 0, complete: false };
  const end = raw.indexOf('\n');
  const complete = end >= 0;
  const head = raw.toString('latin1', 0, Math.min(complete ? end : raw.length, MAX_LOGGED_TARGET_CHARS + 16));
  const [method = '?', target = '?'] = head.split(' ');
  // `METHOD target HTTP/1.1`: the target is what lies between the two spaces.
  const length = complete ? Math.max(0, end - method.length - ' HTTP/1.1\r'.length - 1) : 0;
  return { method, target: target.slice(0, MAX_LOGGED_TARGET_CHARS), length, complete };
}

/** Writes an error as the one status table says, as the API's own answers are written. */
function writeError(response: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const reply = httpErrorOf(error);
  const text = JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...reply.headers,
    ...headers,
  });
  response.end(text);
}

/** The local routes as the emulator looks them up: by exact key, then by `/*` prefix, longest first. */
interface LocalRouteTable {
  readonly routes: Readonly<Record<string, LocalRoute>>;
  readonly prefixes: readonly { readonly prefix: string; readonly route: LocalRoute }[];
}

/** The table of the emulator's local routes, made once when it starts. */
function localRouteTable(
  routes: Readonly<Record<string, LocalRoute>> | undefined,
): LocalRouteTable | undefined {
  if (!routes) return undefined;
  const prefixes = Object.entries(routes)
    .filter(([key]) => key.endsWith('/*'))
    .map(([key, route]) => ({ prefix: key.slice(0, -1), route }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return { routes, prefixes };
}

/** The local route for a path: an exact key first, then the longest `/*` prefix key that covers it. */
function findLocalRoute({ routes, prefixes }: LocalRouteTable, path: string): LocalRoute | undefined {
  // `routes` is an object literal: a path such as `constructor` must not find its prototype's members.
  const exact = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (exact) return exact;
  for (const { prefix, route } of prefixes) {
    if (path.startsWith(prefix) && path.length > prefix.length) return route;
  }
  return undefined;
}

/** The emulator's stage, and its account, API and resource ids: its events are told from a deployed API's. */
const LOCAL = 'local';

/** A request target split into path and query, without a URL object per request. */
interface RequestTarget {
  readonly path: string;
  readonly query: URLSearchParams | undefined;
}

function splitTarget(url: string): RequestTarget {
  const mark = url.indexOf('?');
  if (mark < 0) return { path: url, query: undefined };
  return { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

/** How far a request's body has come, for the answer to a client that ends it early. */
interface BodyProgress {
  readonly request: { readonly method: string; readonly path: string };
  received: number;
  /** What Content-Length announced; undefined for a chunked body. */
  readonly expected: number | undefined;
}

/** How reading a body ended. */
type BodyRead =
  | { readonly kind: 'body'; readonly bytes: Buffer }
  /** Past the payload limit: the rest was read and dropped. */
  | { readonly kind: 'too-large' }
  /** Nothing arrived for `idleMs`. */
  | {
      readonly kind: 'stalled';
      readonly idleMs: number;
      readonly received: number;
      readonly expected: number | undefined;
    }
  /** The client ended or reset the connection first. */
  | { readonly kind: 'aborted' };

/**
 * Reads a body whole, keeping its progress where {@link answerClientError} finds it; past the payload limit the rest
 * is drained unread. A body that goes `idleMs` without a byte is given up on.
 */
function readBody(
  request: IncomingMessage,
  path: string,
  bodies: WeakMap<Duplex, BodyProgress>,
  idleMs: number,
): Promise<BodyRead> {
  return new Promise((resolve) => {
    const announced = request.headers['content-length'];
    const progress: BodyProgress = {
      request: { method: request.method ?? 'GET', path },
      received: 0,
      expected: announced === undefined ? undefined : Number(announced),
    };
    bodies.set(request.socket, progress);
    // A body of announced length is received into one buffer of its own, placed for its binary tensors to be viewed
    // where they are (see alignedBodyBuffer); one of unknown length (chunked) is gathered and joined. The buffer is
    // reserved as the headers arrive (up to the payload limit, uninitialised: its pages are touched as bytes come).
    let target = announcedTarget(request, progress.expected);
    let filled = 0;
    const chunks: Buffer[] = [];
    let tooLarge = false;
    const finish = (read: BodyRead): void => {
      clearTimeout(timer);
      bodies.delete(request.socket);
      request.removeAllListeners('data');
      resolve(read);
    };
    // One timer per body, restarted by each chunk (refresh, not a new timer per chunk).
    const timer = setTimeout(
      () => finish({ kind: 'stalled', idleMs, received: progress.received, expected: progress.expected }),
      idleMs,
    );
    request.on('data', (chunk: Buffer) => {
      timer.refresh();
      progress.received += chunk.length;
      if (tooLarge) return;
      if (progress.received > MAX_REQUEST_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      if (target && filled + chunk.length <= target.byteLength) {
        target.set(chunk, filled);
        filled += chunk.length;
        return;
      }
      // More than announced (Node's parser stops at the Content-Length, so never, but the bytes are kept anyway).
      if (target) chunks.push(target.subarray(0, filled));
      target = undefined;
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) return finish({ kind: 'too-large' });
      finish({ kind: 'body', bytes: target ? target.subarray(0, filled) : Buffer.concat(chunks) });
    });
    // Node reports a body ended early as an 'error' ("aborted") after its clientError: answered there.
    request.on('error', () => finish({ kind: 'aborted' }));
  });
}

/**
 * The buffer a body of announced length is received into, its binary data (after the JSON header an
 * `Inference-Header-Content-Length` announces, or from its first byte) aligned; none for a body of unknown length,
 * an empty one, or one over the payload limit (refused as it comes).
 */
function announcedTarget(request: IncomingMessage, length: number | undefined): Buffer | undefined {
  if (length === undefined || !Number.isSafeInteger(length) || length <= 0 || length > MAX_REQUEST_BYTES)
    return undefined;
  const header = Number(request.headers[INFERENCE_HEADER_CONTENT_LENGTH] ?? 0);
  return alignedBodyBuffer(
    length,
    Number.isSafeInteger(header) && header >= 0 && header <= length ? header : 0,
  );
}

/**
 * The proxy event of a request, as API Gateway builds it, with its body's bytes as they came (see `WithBodyBytes`):
 * the handler reads them as they are, and `body` is their base64 form only if something reads it. A resource for each path, as the emulator does not know the API's resource tree; the stage `local`, which the
 * local URL leaves out (its `requestContext.path` is the path).
 */
function toEvent(request: IncomingMessage, target: RequestTarget, bytes: Buffer): APIGatewayProxyEvent {
  // The API's binary media types are `*/*`, which "includes all content types"
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html): every body
  // reaches the function base64-encoded, the bytes as sent, and the handler decodes (and checks) them; here it
  // reads the bytes themselves.
  return buildProxyEvent({
    method: request.method ?? 'GET',
    path: target.path,
    query: target.query,
    // Node has parsed the headers already; API Gateway gives both single- and multi-value forms, and Node builds
    // the multi-value form on first read (most requests never read it).
    headers: request.headers as Record<string, string>,
    multiValueHeaders: () => request.headersDistinct as Record<string, string[]>,
    bytes,
    requestId: randomUUID(),
    requestTimeEpoch: Date.now(),
    stage: LOCAL,
    // The local URL carries no stage in its path, as a custom domain's with no base path does not.
    domainName: request.headers.host ?? '127.0.0.1',
    accountId: LOCAL,
    apiId: LOCAL,
    resourceId: LOCAL,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    protocol: `HTTP/${request.httpVersion}`,
  });
}
