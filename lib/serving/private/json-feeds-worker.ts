/**
 * The worker thread of `JsonFeedsPool`: decodes one JSON body at a time (`decodeJsonFeeds`) and hands the feeds'
 * values back by transfer, not by copy. An entry point: it listens on its port when loaded.
 */
import { parentPort } from 'node:worker_threads';
import { decodeJsonFeeds } from '../json-feeds.js';
import { type DecodeReply, type DecodeRequest, replyOf, transferablesOf } from './json-feeds-messages.js';

const port = parentPort;
if (port) {
  port.on('message', ({ id, task }: DecodeRequest) => {
    let reply: DecodeReply;
    try {
      reply = { id, ok: true, result: decodeJsonFeeds(task) };
    } catch (error) {
      reply = replyOf(id, error);
    }
    port.postMessage(reply, reply.ok ? transferablesOf(reply.result) : []);
  });
}
