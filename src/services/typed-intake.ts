/**
 * How the service host hands a typed service's message to `onMessage`
 * (typed-messages.ts has the decoding and the error reply). Kept out of
 * service-host.ts so that the untyped path there stays one `if`.
 *
 * A message that decodes at once (JSON, and a schema whose `validate` is
 * sync) takes the same closure-free lane call as an untyped one. A rejection
 * and an async validation run as tasks in the client's lane, so the error
 * reply keeps its place among the service's replies to that client, and the
 * event is acknowledged only once it settled, as every other event is.
 */
import type { Client } from './client';
import type { ClientLanes } from './client-lanes';
import type { MessageInfo, Service } from './service';
import type { Decoded, MessageDecoder, Rejection } from './typed-messages';

/** What delivery needs from the host; one per host. */
export interface TypedIntake {
  readonly lanes: ClientLanes;
  readonly service: Service<unknown, unknown>;
  readonly decoder: MessageDecoder;
  /** Sends `rejection.reply` to the client and counts it. */
  rejected(client: Client, rejection: Rejection): void;
  ack(worker: number, seq: number): void;
}

function isPromise(value: Decoded | Promise<Decoded>): value is Promise<Decoded> {
  return value instanceof Promise;
}

/** Decodes `data` and runs `onMessage` with it, or replies with the rejection; either way in the client's lane, then the ack. */
export function deliverTyped(intake: TypedIntake, client: Client, data: string | Buffer, info: MessageInfo, worker: number, seq: number): void {
  const { lanes, service } = intake;
  let decoded: Decoded | Promise<Decoded>;
  try {
    decoded = intake.decoder.decode(data);
  } catch (error) {
    // The schema itself threw: a failure of the service's code, logged and counted as a handler's.
    lanes.run(client.id, () => { throw error; }, () => intake.ack(worker, seq));
    return;
  }
  if (isPromise(decoded)) {
    const pending = decoded;
    lanes.run(client.id, () => pending.then((result) => handle(intake, client, result, info)), () => intake.ack(worker, seq));
    return;
  }
  if (decoded.ok) {
    lanes.call(client.id, service, service.onMessage, client, decoded.value, info, worker, seq);
    return;
  }
  const rejection = decoded;
  lanes.run(client.id, () => intake.rejected(client, rejection), () => intake.ack(worker, seq));
}

function handle(intake: TypedIntake, client: Client, decoded: Decoded, info: MessageInfo): void | Promise<void> {
  if (!decoded.ok) return intake.rejected(client, decoded);
  return intake.service.onMessage(client, decoded.value, info);
}
