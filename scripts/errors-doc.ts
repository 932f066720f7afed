// docs/errors.md is rendered from the error catalogue, so the two cannot drift:
// errors-doc.test.ts fails when they differ; UPDATE_DOCS=1 makes it rewrite the file.
import { CATALOGUE } from '../protocol/errors/catalogue.js';

export function renderErrorsDoc(): string {
  const entries = [...CATALOGUE.values()];
  const lines = [
    '# Error codes',
    '',
    '<!-- Rendered from protocol/errors/catalogue.ts: edit the catalogue, then run',
    '     UPDATE_DOCS=1 npx vitest run scripts/errors-doc.test.ts -->',
    '',
    'Every failure selfdeploy reports — on the Enrollment Status Page, from the `selfdeploy` command,',
    'in the logs and from the service — carries one of these stable codes. Where Windows Autopilot has',
    'a code with the same meaning, it is given too, so technicians who know Autopilot recognise it.',
    '',
    '| Code | Autopilot | Title |',
    '|---|---|---|',
    ...entries.map((e) => `| [${e.code}](#${e.code.toLowerCase()}) | ${e.hresult ?? ''} | ${e.title} |`),
  ];
  for (const e of entries) {
    lines.push('', `## ${e.code}`, '', `**${e.title}**${e.hresult ? ` (Autopilot ${e.hresult})` : ''}`, '', `What happened: ${e.message}`, '', `What to do: ${e.remedy}`);
  }
  return lines.join('\n') + '\n';
}
