import { CrossSiteRequestError } from '../core/errors/request-errors.js';
import type { LocalRoute } from './ApiGatewayEmulator.js';

/**
 * The local stack's own routes (pages, control routes, metrics), each answering only requests whose `Host` names the
 * stack as it listens (`127.0.0.1:PORT` or `localhost:PORT`). A page on another site cannot read what the stack
 * answers (the browser keeps origins apart), unless its name is made to resolve to 127.0.0.1 (DNS rebinding): the
 * browser then sends that name as the Host, and the stack refuses it with a 403.
 * The API contract's routes are not guarded: they answer whoever reaches them, as API Gateway does.
 *
 * @example
 * const guarded = hostGuarded(routes, () => ['127.0.0.1:3000', 'localhost:3000']);
 */
export function hostGuarded(
  routes: Readonly<Record<string, LocalRoute>>,
  hosts: () => readonly string[],
): Record<string, LocalRoute> {
  const guarded: Record<string, LocalRoute> = {};
  for (const [path, route] of Object.entries(routes)) {
    guarded[path] = {
      methods: route.methods,
      answer: (request) => {
        const host = (request.headers.host ?? '').toLowerCase();
        if (!hosts().includes(host)) {
          throw new CrossSiteRequestError(
            `the local stack answers its own routes only for the Host it listens on (${hosts().join(' or ')}); got ${JSON.stringify(host || null)}`,
          );
        }
        return route.answer(request);
      },
    };
  }
  return guarded;
}

/**
 * The Host values of a stack listening at `url` (`http://127.0.0.1:3000`): its address, and `localhost`, with the
 * port as a browser sends it (none for 80); none while the stack does not know its address yet.
 */
export function hostsOf(url: string): string[] {
  if (url === '') return [];
  const { host, port } = new URL(url);
  return [...new Set([host, port === '' ? 'localhost' : `localhost:${port}`])];
}

/** The origins of the pages a stack listening at `url` serves itself (see {@link hostsOf}). */
export function originsOf(url: string): string[] {
  return hostsOf(url).map((host) => `http://${host}`);
}
