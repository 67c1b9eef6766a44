/**
 * Every metric Switchyard exports, named in one place. An `instance` label is
 * set only on the series of a service that runs several instances (its
 * index), so a service of one instance keeps the series it always had. Counters end in
 * `_total`, units are base units (`_seconds`, `_bytes`). Series without a
 * `process` label are summed over the processes that report them; series with
 * one stay per process.
 */
export const METRICS = {
  connectionsCurrent: { name: 'switchyard_connections_current', help: 'WebSocket connections open now', labels: ['service'] },
  connectionsOpened: { name: 'switchyard_connections_opened_total', help: 'WebSocket connections accepted', labels: ['service'] },
  connectionsClosed: { name: 'switchyard_connections_closed_total', help: 'WebSocket connections closed, by close code', labels: ['service', 'code'] },
  messagesReceived: { name: 'switchyard_messages_received_total', help: 'Messages received from clients', labels: ['service'] },
  messagesSent: { name: 'switchyard_messages_sent_total', help: 'Messages sent to clients (each socket counts once)', labels: ['service'] },
  bytesReceived: { name: 'switchyard_received_bytes_total', help: 'Payload bytes received from clients', labels: ['service'] },
  bytesSent: { name: 'switchyard_sent_bytes_total', help: 'Payload bytes sent to clients', labels: ['service'] },
  httpRequests: { name: 'switchyard_http_requests_total', help: 'HTTP requests to services, by status', labels: ['service', 'status'] },
  upgradesRejected: { name: 'switchyard_upgrades_rejected_total', help: 'WebSocket upgrades refused, by HTTP status', labels: ['status'] },
  ipcQueueDepth: { name: 'switchyard_ipc_queue_depth', help: 'Messages waiting in an IPC send queue', labels: ['process', 'peer'] },
  ipcReceived: { name: 'switchyard_ipc_received_total', help: 'Messages a process received over IPC, by type', labels: ['process', 'type'] },
  ipcDropped: { name: 'switchyard_ipc_dropped_total', help: 'Messages refused by a full IPC send queue', labels: ['process', 'peer'] },
  routingDropped: { name: 'switchyard_routing_dropped_total', help: 'Messages dropped between workers and services, by reason', labels: ['reason'] },
  heldMessages: { name: 'switchyard_held_messages', help: 'Client messages not yet acknowledged by their service: in flight, being handled, or held while it is down', labels: ['service', 'instance'] },
  restarts: { name: 'switchyard_restarts_total', help: 'Processes restarted after a crash', labels: ['kind', 'name', 'instance'] },
  up: { name: 'switchyard_process_up', help: '1 when the process is up, 0 otherwise', labels: ['kind', 'name', 'instance'] },
  eventLoopLag: { name: 'switchyard_event_loop_lag_seconds', help: 'p99 event-loop delay since the previous scrape', labels: ['process'] },
  handlerErrors: { name: 'switchyard_handler_errors_total', help: 'Service handlers that threw or rejected', labels: ['service'] },
  quarantined: {
    name: 'switchyard_quarantined_total',
    help: 'Client events dropped after maxDeliveries deliveries to instances that died with them unacknowledged (their clients closed with 1011)',
    labels: ['service'],
  },
  backlogClosed: {
    name: 'switchyard_backlog_closed_total',
    help: 'Clients closed with 1013 "service backlog full": a message of their service to them was dropped at a full link queue',
    labels: ['service'],
  },
  natsFrames: { name: 'switchyard_nats_frames_total', help: 'Frames of cross-node links over NATS (data, acks, nacks, resets), by direction', labels: ['direction'] },
  natsBytes: { name: 'switchyard_nats_bytes_total', help: 'Payload bytes of cross-node link frames, by direction', labels: ['direction'] },
  natsResends: { name: 'switchyard_nats_resends_total', help: 'Data frames of cross-node links sent again (a nack or a timeout)', labels: [] },
  natsResets: { name: 'switchyard_nats_resets_total', help: 'Cross-node link sessions reset (each one replayed)', labels: [] },
  natsRefused: { name: 'switchyard_nats_refused_total', help: 'NATS messages refused or dropped, by reason', labels: ['reason'] },
  natsNodes: { name: 'switchyard_nats_nodes', help: 'Other nodes of the cluster as this node sees them, by state', labels: ['state'] },
  invalidMessages: {
    name: 'switchyard_invalid_messages_total',
    help: 'Messages a typed service refused with SY_ERR_INVALID_MESSAGE, by reason (json: not JSON text; schema: its messageSchema rejected it)',
    labels: ['service', 'reason'],
  },
  serviceRequests: { name: 'switchyard_service_requests_total', help: 'Requests answered by services, by transport and outcome', labels: ['service', 'transport', 'outcome'] },
  deliveryLatency: {
    name: 'switchyard_message_delivery_seconds',
    help: 'Time from a worker receiving a client message to the service handling it (1 in 8 messages sampled)',
    labels: ['service'],
  },
} as const;

export type MetricKey = keyof typeof METRICS;

/** Every `n`-th client message carries a timestamp for the delivery histogram. */
export const DELIVERY_SAMPLE_EVERY = 8;

/**
 * prom-client's default process metrics (`collectDefaultMetrics`), which
 * every process registers with its `process` label (`master`, `worker-1`,
 * `service-chat`), so they stay per process in the cluster's `/metrics`.
 * Their names are prom-client's own (what community Node.js dashboards
 * query); test/metrics/names.test.ts checks this list against what
 * prom-client registers, and docs/metrics.md against this list.
 */
export const PROCESS_METRICS = [
  { name: 'process_cpu_user_seconds_total', type: 'counter', labels: ['process'], help: 'user CPU time' },
  { name: 'process_cpu_system_seconds_total', type: 'counter', labels: ['process'], help: 'system CPU time' },
  { name: 'process_cpu_seconds_total', type: 'counter', labels: ['process'], help: 'user and system CPU time' },
  { name: 'process_start_time_seconds', type: 'gauge', labels: ['process'], help: 'start time since the epoch (not in the cluster /metrics: prom-client aggregation omits it)' },
  { name: 'process_resident_memory_bytes', type: 'gauge', labels: ['process'], help: 'resident set size (RSS)' },
  { name: 'process_virtual_memory_bytes', type: 'gauge', labels: ['process'], help: 'virtual memory size' },
  { name: 'process_heap_bytes', type: 'gauge', labels: ['process'], help: 'process heap size' },
  { name: 'process_open_fds', type: 'gauge', labels: ['process'], help: 'open file descriptors (sockets included)' },
  { name: 'process_max_fds', type: 'gauge', labels: ['process'], help: 'the limit on open file descriptors' },
  { name: 'nodejs_eventloop_lag_seconds', type: 'gauge', labels: ['process'], help: 'event-loop lag, measured at the scrape' },
  { name: 'nodejs_eventloop_lag_min_seconds', type: 'gauge', labels: ['process'], help: 'smallest event-loop delay' },
  { name: 'nodejs_eventloop_lag_max_seconds', type: 'gauge', labels: ['process'], help: 'largest event-loop delay' },
  { name: 'nodejs_eventloop_lag_mean_seconds', type: 'gauge', labels: ['process'], help: 'mean event-loop delay' },
  { name: 'nodejs_eventloop_lag_stddev_seconds', type: 'gauge', labels: ['process'], help: 'standard deviation of the event-loop delay' },
  { name: 'nodejs_eventloop_lag_p50_seconds', type: 'gauge', labels: ['process'], help: 'median event-loop delay' },
  { name: 'nodejs_eventloop_lag_p90_seconds', type: 'gauge', labels: ['process'], help: '90th percentile event-loop delay' },
  { name: 'nodejs_eventloop_lag_p99_seconds', type: 'gauge', labels: ['process'], help: '99th percentile event-loop delay' },
  { name: 'nodejs_active_resources', type: 'gauge', labels: ['process', 'type'], help: 'resources keeping the event loop alive, by type' },
  { name: 'nodejs_active_resources_total', type: 'gauge', labels: ['process'], help: 'resources keeping the event loop alive' },
  { name: 'nodejs_active_handles', type: 'gauge', labels: ['process', 'type'], help: 'active libuv handles, by type' },
  { name: 'nodejs_active_handles_total', type: 'gauge', labels: ['process'], help: 'active libuv handles' },
  { name: 'nodejs_active_requests', type: 'gauge', labels: ['process', 'type'], help: 'active libuv requests, by type' },
  { name: 'nodejs_active_requests_total', type: 'gauge', labels: ['process'], help: 'active libuv requests' },
  { name: 'nodejs_heap_size_total_bytes', type: 'gauge', labels: ['process'], help: 'V8 heap size' },
  { name: 'nodejs_heap_size_used_bytes', type: 'gauge', labels: ['process'], help: 'V8 heap used' },
  { name: 'nodejs_external_memory_bytes', type: 'gauge', labels: ['process'], help: 'memory outside the V8 heap (Buffers)' },
  { name: 'nodejs_heap_space_size_total_bytes', type: 'gauge', labels: ['process', 'space'], help: 'V8 heap space size, by space' },
  { name: 'nodejs_heap_space_size_used_bytes', type: 'gauge', labels: ['process', 'space'], help: 'V8 heap space used, by space' },
  { name: 'nodejs_heap_space_size_available_bytes', type: 'gauge', labels: ['process', 'space'], help: 'V8 heap space available, by space' },
  { name: 'nodejs_version_info', type: 'gauge', labels: ['process', 'version', 'major', 'minor', 'patch'], help: 'the Node.js version (value 1)' },
  { name: 'nodejs_gc_duration_seconds', type: 'histogram', labels: ['process', 'kind'], help: 'garbage-collection pauses, by kind (minor, major, incremental, weakcb)' },
] as const;
