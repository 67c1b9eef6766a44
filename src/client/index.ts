/**
 * `switchyard/client`: the browser and Node client. Imports nothing from the
 * server (test/client/isolation.test.ts keeps it so), so a browser bundle
 * holds only this folder.
 */
export { connect, SwitchyardClient } from './client';
export type { ClientEvents, ClientState, CloseInfo, IncomingData, OpenInfo, ReconnectedInfo, ReconnectingInfo, RejectedInfo, RequestOptions, UndeliveredInfo } from './client';
export { DisconnectedError, GaveUpError, QueueFullError, RequestError, SwitchyardClientError, TimeoutError, type ClientErrorCode } from './errors';
export type { Listener } from './events';
export {
  DEFAULT_BASE_DELAY,
  DEFAULT_BUSY_DELAY,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_DELAY,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_RESTART_JITTER,
  DEFAULT_STABLE_AFTER,
  type ClientOptions,
  type JsonClientOptions,
} from './options';
export { DEFAULT_CLOSE_CODE_ACTIONS, type ReconnectAction } from './policy';
export type { OutgoingData } from './send-queue';
export type { SocketEvent, WebSocketConstructor, WebSocketLike } from './socket';
