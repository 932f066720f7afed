// docs/errors.md is rendered from the error catalogue, so the two cannot drift:
// errors-doc.test.ts fails when they differ; UPDATE_DOCS=1 makes it rewrite the file.
import { CATALOGUE, type CatalogueEntry, type ErrorOrigin } from '../protocol/errors/catalogue.js';

const ORIGIN: Record<ErrorOrigin, string> = {
  agent: 'the agent',
  helper: 'selfdeploy-helper',
  service: 'the service',
  cli: 'a command line',
};

/** One line of what the code means to programs: who reports it, its HTTP status, exit status, and whether to retry. */
function facts(e: CatalogueEntry): string {
  return [
    `Reported by ${ORIGIN[e.origin]}`,
    e.http ? `HTTP ${e.http}` : null,
    `exit status ${e.exit}`,
    e.retryable ? 'worth waiting out and retrying' : 'not retried',
  ]
    .filter(Boolean)
    .join(' · ');
}

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
    'Each code also says who reports it (the agent, selfdeploy-helper, the service, or any command',
    'line), the HTTP status of the service\'s problem response with it, the exit status of a command',
    'line that fails with it (2 a usage error, 3 no TPM, service or helper to work with, 70 a defect in',
    'the program, 1 anything else), and whether clients wait it out and try again (the agent does,',
    'until the ESP timeout).',
    '',
    '| Code | Autopilot | Title | From | HTTP | Exit | Retried |',
    '|---|---|---|---|---|---|---|',
    ...entries.map((e) => `| [${e.code}](#${e.code.toLowerCase()}) | ${e.hresult ?? ''} | ${e.title} | ${e.origin} | ${e.http ?? ''} | ${e.exit} | ${e.retryable ? 'yes' : ''} |`),
  ];
  for (const e of entries) {
    lines.push('', `## ${e.code}`, '', `**${e.title}**${e.hresult ? ` (Autopilot ${e.hresult})` : ''}`, '', `What happened: ${e.message}`, '', `What to do: ${e.remedy}`, '', `${facts(e)}.`);
  }
  return lines.join('\n') + '\n';
}
