// /v1/admin/reports and /v1/admin/audit: the fleet picture (deployment runs, their CSV, the
// summary the console's overview shows) and the audit log with its verification.
import { catalogueEntry, isErrorCode } from '../../../protocol/errors/catalogue.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { deploymentsCsv, summarize } from '../../reports/deployments.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';
import { deviceScope } from '../scope.js';

export function reportRoutes(store: Store): Route[] {
  return [
    route(admin.reports.deployments, async ({ query, token }) => store.deployments.list({ ...query, among: await deviceScope(store, token) })),
    route(admin.reports.deploymentsCsv, async ({ query, token, reply }) => {
      const runs = store.deployments.each({ ...query, among: await deviceScope(store, token) });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="selfdeploy-deployments-${new Date().toISOString().slice(0, 10)}.csv"`)
        .send(deploymentsCsv(runs));
    }),
    route(admin.reports.summary, async ({ query, token }) => {
      const among = await deviceScope(store, token);
      const summary = await summarize(store.deployments.each({ ...query, among }), query);
      const remedy = (code: string) => (isErrorCode(code) ? catalogueEntry(code) : undefined);
      return {
        ...summary,
        topFailures: summary.topFailures.map((f) => ({ ...f, title: remedy(f.code)?.title ?? f.title, remedy: remedy(f.code)?.remedy ?? '' })),
        devicesByState: await store.devices.countByState(among),
      };
    }),
    route(admin.audit.list, ({ query }) => store.audit.list(query)),
    route(admin.audit.verify, () => store.audit.verify()),
  ];
}
