import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isBinaryContentType } from '../core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../core/contract/headers.js';
import { MAX_REQUEST_BYTES } from '../core/contract/limits.js';
import { buildProxyEvent } from '../core/contract/proxy-event.js';
import { MethodNotAllowedError, RequestTooLargeError } from '../core/errors/request-errors.js';
import { httpErrorOf } from '../serving/http-errors.js';

/** A proxy-integration handler, as Lambda runs it behind API Gateway. */
export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** What a {@link LocalRoute} answers. */
export interface LocalReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
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
  /** Told of every request the emulator refuses itself (a body over the limit), as API Gateway logs them. @default none */
  readonly onRefused?: (refusal: { method: string; path: string; status: number; error: string }) => void;
  /** Told of every fault while answering (a handler or local route that threw something not the client's doing). @default none */
  readonly onError?: (error: unknown, request: { method: string; path: string }) => void;
}

/**
 * An HTTP server that turns requests into API Gateway REST proxy events for a handler, like API Gateway does.
 *
 * Bodies over the payload limit are refused with 413 before the handler sees them, as API Gateway and
 * Lambda refuse them.
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
    const server = createServer((request, response) => {
      serve(options, request, response).catch((error: unknown) => {
        // A local route's domain error (a bad query) answers by the status table; anything else is a fault,
        // logged with its path, never answered with its details.
        const reply = httpErrorOf(error);
        if (reply.status >= 500)
          options.onError?.(error, { method: request.method ?? 'GET', path: request.url ?? '/' });
        if (response.headersSent) response.end();
        else writeError(response, error);
      });
    });
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
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const target = splitTarget(request.url ?? '/');
  const local = findLocalRoute(options.localRoutes, target.path);
  const method = request.method ?? 'GET';
  const takes = local?.methods.some(
    (allowed) => allowed === method || (allowed === 'GET' && method === 'HEAD'),
  );
  if (local && !takes) {
    // A known path with the wrong method answers 405, as the API's own routes do.
    writeError(response, new MethodNotAllowedError(method, target.path, local.methods));
    return;
  }
  const body = await readBody(request);
  if (local && body !== undefined) {
    const reply = await local.answer({
      method,
      path: target.path,
      query: target.query ?? new URLSearchParams(),
      headers: request.headers,
      body: body.toString('utf8'),
    });
    response.writeHead(reply.status, { 'content-type': reply.contentType });
    response.end(method === 'HEAD' ? undefined : reply.body);
    return;
  }
  if (body === undefined) {
    const refusal = new RequestTooLargeError(`request body is larger than ${MAX_REQUEST_BYTES} bytes`);
    options.onRefused?.({
      method: request.method ?? 'GET',
      path: target.path,
      status: 413,
      error: refusal.message,
    });
    writeError(response, refusal, { connection: 'close' });
    return;
  }
  const result = await options.handler(toEvent(request, target, body));
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String);
  response.writeHead(result.statusCode, headers);
  const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  response.end(request.method === 'HEAD' ? undefined : payload);
}

/** Writes an error as the one status table says, as the API's own answers are written. */
function writeError(response: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const reply = httpErrorOf(error);
  response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers, ...headers });
  response.end(JSON.stringify(reply.body));
}

/** The local route for a path: an exact key first, then the longest `/*` prefix key that covers it. */
function findLocalRoute(
  routes: Readonly<Record<string, LocalRoute>> | undefined,
  path: string,
): LocalRoute | undefined {
  if (!routes) return undefined;
  // `routes` is an object literal: a path such as `constructor` must not find its prototype's members.
  const exact = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (exact) return exact;
  let best: { length: number; route: LocalRoute } | undefined;
  for (const [key, route] of Object.entries(routes)) {
    if (!key.endsWith('/*')) continue;
    const prefix = key.slice(0, -1);
    if (path.startsWith(prefix) && path.length > prefix.length && (!best || prefix.length > best.length)) {
      best = { length: prefix.length, route };
    }
  }
  return best?.route;
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

/** Reads the body, or returns undefined once it passes the payload limit (the rest is drained unread). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * The proxy event of a request, with the body base64 when API Gateway would encode it. A resource for each path,
 * as the emulator does not know the API's resource tree; the stage `local`.
 */
function toEvent(request: IncomingMessage, target: RequestTarget, bytes: Buffer): APIGatewayProxyEvent {
  // Node has parsed the headers already; API Gateway gives both single- and multi-value forms.
  const headers = request.headers as Record<string, string>;
  // As API Gateway with binary media types: binary tensor bodies reach the handler base64-encoded, unaltered.
  const binary =
    headers[INFERENCE_HEADER_CONTENT_LENGTH] !== undefined || isBinaryContentType(headers['content-type']);
  return buildProxyEvent({
    method: request.method ?? 'GET',
    path: target.path,
    query: target.query,
    headers,
    multiValueHeaders: request.headersDistinct as Record<string, string[]>,
    body: bytes.toString(binary ? 'base64' : 'utf8'),
    isBase64Encoded: binary,
    requestId: randomUUID(),
    requestTimeEpoch: Date.now(),
    stage: LOCAL,
    accountId: LOCAL,
    apiId: LOCAL,
    resourceId: LOCAL,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    protocol: `HTTP/${request.httpVersion}`,
  });
}
