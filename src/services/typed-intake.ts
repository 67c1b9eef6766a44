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
import type { AckBatch } from './ack-batch';
import type { Client } from './client';
import type { ClientLanes } from './client-lanes';
import type { MessageInfo, Service } from './service';
import { MessageDecoder, type Decoded, type Rejection } from './typed-messages';

/** What the typed intake counts, in the host's stats. */
export interface TypedStats {
  /** Messages to a typed service that were not JSON text: answered with SY_ERR_INVALID_MESSAGE, not handled. */
  invalidJson: number;
  /** Messages to a typed service that its `messageSchema` rejected: answered with SY_ERR_INVALID_MESSAGE, not handled. */
  invalidSchema: number;
}

/** What delivery needs from the host; one per host. */
export interface TypedIntake {
  readonly lanes: ClientLanes;
  readonly service: Service<unknown, unknown>;
  readonly decoder: MessageDecoder;
  readonly stats: TypedStats;
  readonly acks: AckBatch;
}

/** The intake of a typed service (`messageFormat` or `messageSchema`); undefined for an untyped one. */
export function typedIntakeFor(service: Service<unknown, unknown>, lanes: ClientLanes, stats: TypedStats, acks: AckBatch): TypedIntake | undefined {
  const decoder = MessageDecoder.for(service);
  return decoder === undefined ? undefined : { lanes, service, decoder, stats, acks };
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
    lanes.run(client.id, () => { throw error; }, () => intake.acks.add(worker, seq));
    return;
  }
  if (isPromise(decoded)) {
    const pending = decoded;
    lanes.run(client.id, () => pending.then((result) => handle(intake, client, result, info)), () => intake.acks.add(worker, seq));
    return;
  }
  if (decoded.ok) {
    lanes.call(client.id, service, service.onMessage, client, decoded.value, info, worker, seq);
    return;
  }
  const rejection = decoded;
  lanes.run(client.id, () => rejected(intake, client, rejection), () => intake.acks.add(worker, seq));
}

function handle(intake: TypedIntake, client: Client, decoded: Decoded, info: MessageInfo): void | Promise<void> {
  if (!decoded.ok) return rejected(intake, client, decoded);
  return intake.service.onMessage(client, decoded.value, info);
}

/** A message that is not JSON or fails its schema: the error reply instead of `onMessage`, counted. */
function rejected(intake: TypedIntake, client: Client, rejection: Rejection): void {
  if (rejection.reason === 'json') intake.stats.invalidJson++;
  else intake.stats.invalidSchema++;
  intake.service.send(client.id, rejection.reply);
}
