/**
 * `switchyard/testing`: unit tests of a service without a cluster
 * (docs/testing.md).
 */
export { testService, ServiceHarness } from './test-service';
export type { MessageIn, MessageOut, TestClientInit, TestHttpRequest, TestHttpResponse, TestServiceOptions, TestServiceStats } from './test-service';
export { FakeClient, TestRequestError } from './fake-client';
export type { Rejection } from './fake-client';
