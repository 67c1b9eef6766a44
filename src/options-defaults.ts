/**
 * The options' default values and limits as named constants (each read from
 * its row of `OPTION_SPECS`, so the value lives in one place), the service
 * naming rules, and where the bundled examples live. Re-exported by
 * options.ts, which the rest of the code imports them from.
 */
import * as path from 'node:path';
import { OPTION_SPECS, type Balancing, type LogLevel } from './options-spec';

/** Most instances of one service. */
export const MAX_INSTANCES = 64;

// Kept for the modules and tests that import them; each reads the table, so the value lives in one place.
export const DEFAULT_PORT = OPTION_SPECS.port.default;
export const DEFAULT_HOST = OPTION_SPECS.host.default;
export const DEFAULT_LOG_LEVEL: LogLevel = OPTION_SPECS.logLevel.default;
export const DEFAULT_BALANCING: Balancing = OPTION_SPECS.balancing.default;
export const DEFAULT_FORWARD_HEADERS: readonly string[] = OPTION_SPECS.forwardHeaders.default;
export const DEFAULT_MAX_PAYLOAD = OPTION_SPECS.maxPayload.default;
export const DEFAULT_START_TIMEOUT = OPTION_SPECS.startTimeout.default;
export const DEFAULT_STOP_TIMEOUT = OPTION_SPECS.stopTimeout.default;
export const DEFAULT_RESTART_DELAY = OPTION_SPECS.restartDelay.default;
export const DEFAULT_MAX_RESTART_DELAY = OPTION_SPECS.maxRestartDelay.default;
export const DEFAULT_CRASH_LOOP_COUNT = OPTION_SPECS.crashLoopCount.default;
export const DEFAULT_CRASH_LOOP_WINDOW = OPTION_SPECS.crashLoopWindow.default;
export const DEFAULT_IPC_MAX_QUEUED_MESSAGES = OPTION_SPECS.ipcMaxQueuedMessages.default;
export const DEFAULT_IPC_MAX_QUEUED_BYTES = OPTION_SPECS.ipcMaxQueuedBytes.default;
export const MAX_WORKERS = OPTION_SPECS.workers.max;
export const DEFAULT_HEALTH_PATH = OPTION_SPECS.healthPath.default;
export const DEFAULT_METRICS_PATH = OPTION_SPECS.metricsPath.default;
export const DEFAULT_READY_PATH = OPTION_SPECS.readyPath.default;
export const DEFAULT_REQUEST_TIMEOUT = OPTION_SPECS.requestTimeout.default;
export const DEFAULT_MAX_REQUEST_BODY = OPTION_SPECS.maxRequestBody.default;
export const DEFAULT_MAX_BUFFERED_BYTES = OPTION_SPECS.maxBufferedBytes.default;
export const DEFAULT_HEARTBEAT_INTERVAL = OPTION_SPECS.heartbeatInterval.default;
export const DEFAULT_IDLE_TIMEOUT = OPTION_SPECS.idleTimeout.default;
export const DEFAULT_HANDSHAKE_TIMEOUT = OPTION_SPECS.handshakeTimeout.default;
export const DEFAULT_MAX_CONNECTIONS_PER_WORKER = OPTION_SPECS.maxConnectionsPerWorker.default;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = OPTION_SPECS.maxConnectionsPerIp.default;
export const DEFAULT_MAX_MESSAGES_PER_SECOND = OPTION_SPECS.maxMessagesPerSecond.default;
export const DEFAULT_ALLOWED_ORIGINS = OPTION_SPECS.allowedOrigins.default;
export const DEFAULT_PER_MESSAGE_DEFLATE = OPTION_SPECS.perMessageDeflate.default;
export const DEFAULT_MAX_HEADER_SIZE = OPTION_SPECS.maxHeaderSize.default;
/** HTTP requests below this prefix go to a service's `onRequest`: `/services/<name>[/...]`. */
export const SERVICE_HTTP_PREFIX = '/services/';

/** Service names are URL path segments: letters, digits, `_` and `-`. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The bundled demo chat page, at the package root (the same folder from src or dist). */
export function bundledPublicDir(): string {
  return path.join(__dirname, '..', 'public');
}

/** The bundled example services, resolved next to this module (src or dist). */
export function bundledServices(): Readonly<Record<string, string>> {
  const extension = path.extname(__filename);
  const folder = path.join(__dirname, 'services', 'examples');
  return Object.freeze({
    echo: path.join(folder, `echo${extension}`),
    chat: path.join(folder, `chat${extension}`),
  });
}
