/** Public API of the `switchyard` package. */
export { createServer, SwitchyardServer } from './master/server';
export type { ServerEvents, ReadyInfo, WorkerExitInfo, WorkerOnlineInfo, ServiceOnlineInfo, ServiceExitInfo } from './master/server';
export type { ServerState, ServerStats, WorkerStats, ServiceStats } from './master/stats';
export { Service } from './services/service';
export type { OutgoingData, BroadcastOptions, MessageInfo } from './services/service';
export type { Client } from './services/client';
export { RequestError, reply } from './services/request';
export type { ServiceRequest, Reply } from './services/request';
export { resolveOptions } from './options';
export type { SwitchyardOptions, ResolvedOptions, LogLevel, JwtOptions, TokenSource } from './options';
export type { AuthRequest, Identity, AuthenticateFunction } from './worker/authenticate';
export { SwitchyardError, isSwitchyardError, ERROR_CODES, CLOSE_CODES } from './errors';
export type { ErrorCode } from './errors';
export type { ClientInfo } from './protocol';
