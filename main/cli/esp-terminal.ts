// The Enrollment Status Page in a terminal: redrawn in place on a TTY (phases, steps with "N of
// M", items with progress bars and elapsed times), one plain line per change otherwise (logs,
// serial consoles), or the raw event stream as JSON lines (--json) for other programs.
import { PHASES, elapsedMs, findStep, type EspEvent, type EspItem, type EspSnapshot, type ItemState } from '../../protocol/esp.js';
import { jsonSafe, terminalSafe } from '../../protocol/terminal-text.js';

const GLYPH: Record<ItemState, string> = {
  'not-started': '·',
  identifying: '?',
  'in-progress': '>',
  succeeded: '✓',
  failed: '✗',
  skipped: '–',
  'timed-out': '⌛',
};

const LABEL: Record<ItemState, string> = {
  'not-started': 'waiting',
  identifying: 'identifying',
  'in-progress': 'working on it',
  succeeded: 'done',
  failed: 'failed',
  skipped: 'skipped',
  'timed-out': 'timed out',
};

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

function itemLine(item: EspItem, now: string): string {
  const progress = item.state === 'in-progress' && item.progress !== null ? ` ${bar(item.progress)}` : '';
  const time = item.startedAt ? ` ${duration(elapsedMs(item, now))}` : '';
  const detail = item.detail && item.state !== 'succeeded' ? ` — ${item.detail}` : '';
  return `      ${GLYPH[item.state]} ${item.name}${item.blocking ? '' : ' (optional)'}${progress}${time}${detail}`;
}

/** The whole ESP as text, for a redraw. */
export function renderSnapshot(snapshot: EspSnapshot, now: string): string {
  const lines: string[] = [];
  const org = snapshot.branding?.organizationName;
  lines.push(org ? `Setting up your device for ${org}` : 'Setting up your device');
  if (snapshot.device.serial) lines.push(`Device ${snapshot.device.serial}${snapshot.device.deviceName ? ` (${snapshot.device.deviceName})` : ''}`);
  lines.push('');
  // The profile hides setup progress (showProgress off): the screen says only that setup runs.
  const phases = snapshot.rules?.showProgress === false ? [] : snapshot.phases;
  if (phases.length === 0 && snapshot.status === 'running') lines.push('Working on it. This might take a while; leave the device on and connected.');
  for (const phase of phases) {
    const visible = phase.id === 'preflight' || phase.id === 'completion' ? phase.state !== 'not-started' : true;
    if (!visible) continue;
    const ran = phase.steps.filter((s) => s.startedAt);
    const time = ran.length ? ` ${duration(ran.reduce((sum, s) => sum + elapsedMs(s, now), 0))}` : '';
    lines.push(`${GLYPH[phase.state]} ${PHASES[phase.id].title} (${LABEL[phase.state]})${time}`);
    for (const step of phase.steps) {
      const counts = step.total ? ` (${step.completed} of ${step.total})` : '';
      const stepTime = step.startedAt ? ` ${duration(elapsedMs(step, now))}` : '';
      const detail = step.detail && (step.state === 'in-progress' || step.state === 'failed' || step.state === 'timed-out') ? ` — ${step.detail}` : '';
      lines.push(`   ${GLYPH[step.state]} ${step.title}${counts}${stepTime}${detail}`);
      for (const item of step.items) lines.push(itemLine(item, now));
    }
  }
  if (snapshot.deadline && snapshot.status === 'running') lines.push('', `Times out at ${snapshot.deadline}`);
  if (snapshot.failure) {
    const f = snapshot.failure;
    lines.push('', `${f.code}${f.hresult ? ` (${f.hresult})` : ''}: ${f.title}`, `  ${f.detail ?? f.message}`, `  What to do: ${f.remedy}`);
  }
  return lines.join('\n') + '\n';
}

/** One line for a change worth a line (not progress ticks); undefined for the others. */
export function eventLine(event: EspEvent, snapshot: EspSnapshot): string | undefined {
  const time = event.at.slice(11, 19);
  switch (event.type) {
    case 'step': {
      const step = findStep(snapshot, event.step);
      const counts = step.total ? ` (${step.completed} of ${step.total})` : '';
      return `${time} ${step.title}: ${LABEL[event.state]}${counts}${event.detail ? ` — ${event.detail}` : ''}`;
    }
    case 'items': {
      const step = findStep(snapshot, event.step);
      return event.items.length ? `${time} ${step.title}: ${event.items.length} item(s): ${event.items.map((i) => i.name).join(', ')}` : undefined;
    }
    case 'item': {
      if (!event.patch.state) return undefined;
      const step = findStep(snapshot, event.step);
      const item = step.items.find((i) => i.id === event.item);
      if (!item) return undefined;
      const detail = event.patch.error ? ` — ${event.patch.error.code}: ${event.patch.error.detail ?? ''}` : item.detail ? ` — ${item.detail}` : '';
      return `${time} ${step.title} · ${item.name}: ${LABEL[event.patch.state]}${detail}`;
    }
    case 'context':
      if (event.context.profileName) return `${time} Profile ${event.context.profileName}${event.context.branding ? ` for ${event.context.branding.organizationName}` : ''}`;
      if (event.context.device?.serial && !event.context.device.deviceId) return `${time} Device ${event.context.device.serial} (${event.context.device.manufacturer ?? '?'} ${event.context.device.model ?? ''})`;
      return undefined;
    case 'failed':
      return `${time} Setup failed: ${event.failure.code}`;
    case 'continued':
      return `${time} Continuing past the failure (the profile allows it)`;
    case 'succeeded':
      return `${time} Setup complete`;
  }
}

export interface TerminalOutput {
  write(text: string): void;
  isTTY: boolean;
}

export type RenderMode = 'tty' | 'plain' | 'json';

/** A listener for the engine: draws each event in the chosen mode. */
export function terminalRenderer(out: TerminalOutput, mode: RenderMode, now: () => string = () => new Date().toISOString()) {
  let last = 0;
  let pending: EspSnapshot | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = (snapshot: EspSnapshot) => {
    // Names, details and messages come from the service and the items: shown, never obeyed by the terminal.
    out.write(`\x1b[H\x1b[2J${terminalSafe(renderSnapshot(snapshot, now()))}`);
    last = Date.now();
  };
  return {
    onEvent(event: EspEvent, snapshot: EspSnapshot): void {
      if (mode === 'json') {
        out.write(jsonSafe(JSON.stringify(event)) + '\n');
        return;
      }
      if (mode === 'plain') {
        const line = eventLine(event, snapshot);
        if (line) out.write(terminalSafe(line, { oneLine: true }) + '\n');
        return;
      }
      // At most ten redraws a second; the last state always drawn.
      pending = snapshot;
      if (Date.now() - last >= 100) {
        draw(snapshot);
        pending = undefined;
      } else {
        timer ??= setTimeout(() => {
          timer = undefined;
          if (pending) draw(pending);
          pending = undefined;
        }, 100);
      }
    },
    finish(snapshot: EspSnapshot): void {
      if (timer) clearTimeout(timer);
      if (mode === 'tty') draw(snapshot);
    },
  };
}
