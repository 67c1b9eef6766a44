/** Public API of the `switchyard` package. */
export { createServer, SwitchyardServer } from './master/server';
export type { ServerEvents, ServerState, ServerStats, ReadyInfo, WorkerExitInfo, WorkerOnlineInfo, ServiceOnlineInfo, ServiceExitInfo, WorkerStats, ServiceStats } from './master/server';
export { Service } from './services/service';
export type { Client, OutgoingData, BroadcastOptions, MessageInfo } from './services/service';
export { RequestError, reply } from './services/request';
export type { ServiceRequest, Reply } from './services/request';
export { resolveOptions } from './options';
export type { SwitchyardOptions, ResolvedOptions, LogLevel } from './options';
export { SwitchyardError, isSwitchyardError, ERROR_CODES, CLOSE_CODES } from './errors';
export type { ErrorCode } from './errors';
export type { ClientInfo } from './protocol';
