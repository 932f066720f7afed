// The admin API's fleet picture: deployment reports, the audit log, and the web console's
// sessions and live views (server-sent events). Part of `admin` (endpoints/admin.ts re-exports it).
import { AuditListSchema, AuditQuerySchema, AuditVerifySchema, BenchSchema, DeploymentListSchema, DeploymentReportQuerySchema, DeploymentSummaryQuerySchema, DeploymentSummarySchema, SessionRequestSchema, SessionSchema } from '../fleet.js';
import { endpoint } from '../endpoint.js';
import { IdParams } from './documents.js';

export const reports = {
  deployments: endpoint({
    method: 'GET',
    path: '/v1/admin/reports/deployments',
    operationId: 'listDeployments',
    summary: 'Deployment runs of every device, newest first, filtered by time, outcome, error code, group tag or serial prefix',
    tag: 'reports',
    access: 'read',
    query: DeploymentReportQuerySchema,
    success: { status: 200, description: 'A page of runs', schema: DeploymentListSchema },
  }),
  deploymentsCsv: endpoint({
    method: 'GET',
    path: '/v1/admin/reports/deployments.csv',
    operationId: 'exportDeployments',
    summary: 'The same runs as CSV (every match, oldest first; one column per phase duration)',
    tag: 'reports',
    access: 'read',
    query: DeploymentReportQuerySchema.omit({ limit: true, cursor: true }),
    success: { status: 200, description: 'text/csv', binary: true },
  }),
  summary: endpoint({
    method: 'GET',
    path: '/v1/admin/reports/summary',
    operationId: 'getDeploymentSummary',
    summary: 'The fleet picture over a time window: outcomes per day, top failure codes with their remedies, median and p90 time per phase, devices by state',
    tag: 'reports',
    access: 'read',
    query: DeploymentSummaryQuerySchema,
    success: { status: 200, description: 'The summary', schema: DeploymentSummarySchema },
  }),
};

export const console = {
  signIn: endpoint({
    method: 'POST',
    path: '/v1/admin/session',
    operationId: 'openSession',
    summary: 'Sign in to the web console: an API token exchanged for a session cookie (HttpOnly, Secure, SameSite=Strict) and a CSRF token',
    tag: 'console',
    access: 'public',
    body: SessionRequestSchema,
    problems: [401, 429],
    success: { status: 201, description: 'The session', schema: SessionSchema },
  }),
  session: endpoint({
    method: 'GET',
    path: '/v1/admin/session',
    operationId: 'getSession',
    summary: 'The console session this request belongs to (its CSRF token, expiry and token)',
    tag: 'console',
    access: 'read',
    problems: [404],
    success: { status: 200, description: 'The session', schema: SessionSchema },
  }),
  signOut: endpoint({
    method: 'DELETE',
    path: '/v1/admin/session',
    operationId: 'closeSession',
    summary: 'Sign out of the web console: the session ends on every replica',
    tag: 'console',
    access: 'read',
    success: { status: 204, description: 'Signed out' },
  }),
  bench: endpoint({
    method: 'GET',
    path: '/v1/admin/bench',
    operationId: 'getBench',
    summary: 'The staging bench board: every device deploying now (and those that finished or failed in the last 15 minutes), with phase and item',
    tag: 'console',
    access: 'read',
    success: { status: 200, description: 'The board', schema: BenchSchema },
  }),
  benchEvents: endpoint({
    method: 'GET',
    path: '/v1/admin/bench/events',
    operationId: 'streamBench',
    summary: 'The bench board as server-sent events (text/event-stream): a "bench" event with the board whenever it changes',
    tag: 'console',
    access: 'read',
    success: { status: 200, description: 'text/event-stream', binary: true },
  }),
  deviceEvents: endpoint({
    method: 'GET',
    path: '/v1/admin/devices/:id/events',
    operationId: 'streamDeviceEsp',
    summary: "A device's live ESP as server-sent events: an \"esp\" event with its progress whenever it changes",
    tag: 'console',
    access: 'read',
    params: IdParams,
    problems: [404],
    success: { status: 200, description: 'text/event-stream', binary: true },
  }),
};

export const audit = {
  list: endpoint({
    method: 'GET',
    path: '/v1/admin/audit',
    operationId: 'listAuditEntries',
    summary: 'The audit log, newest first: who changed what (before and after), when and from where',
    tag: 'audit',
    access: 'admin',
    query: AuditQuerySchema,
    success: { status: 200, description: 'A page of entries', schema: AuditListSchema },
  }),
  verify: endpoint({
    method: 'GET',
    path: '/v1/admin/audit/verify',
    operationId: 'verifyAuditLog',
    summary: 'Walk the hash chain of the whole audit log and report the first entry that was changed, removed or cut off',
    tag: 'audit',
    access: 'admin',
    success: { status: 200, description: 'The verdict', schema: AuditVerifySchema },
  }),
};
