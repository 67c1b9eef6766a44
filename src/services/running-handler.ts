/**
 * Which client's handler is running synchronously in this service process
 * right now, for the service's log lines (`Service.log`): the client lanes
 * set it around each handler call, and the process's logger adds it to every
 * line written meanwhile as `client`.
 *
 * Only the synchronous part of a handler: a continuation after an `await`
 * runs from the microtask queue, after the lane has cleared it, so a line
 * written there carries no `client` — never another client's. Following a
 * client through its awaits would take an AsyncLocalStorage around every
 * event, which costs every service on the hot path (measured here on Node
 * 20: about 0.3 to 1 µs more per handler call, and slower promises in the
 * whole process once one is in use), to spare a `{ client: client.id }`.
 */
export const runningHandler: { client: string | undefined } = { client: undefined };

/** pino `mixin`: the running handler's client, or nothing. A new object each time: pino merges the line's fields into it. */
export function runningHandlerFields(): Record<string, unknown> {
  const client = runningHandler.client;
  return client === undefined ? {} : { client };
}
