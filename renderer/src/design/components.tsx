// Components the ESP and the console share: a state said with an icon *and* words (never colour
// alone), and a progress bar that screen readers read as one.
import type { ReactNode } from 'react';

const ICONS: Record<string, string> = {
  succeeded: '✓',
  deployed: '✓',
  failed: '✕',
  'timed-out': '✕',
  'in-progress': '↻',
  deploying: '↻',
  running: '↻',
  identifying: '↻',
  registered: '○',
  'not-started': '○',
  skipped: '–',
};

export function StateBadge({ state, children }: { state: string; children: ReactNode }) {
  return (
    <span className={`state state-${state}`}>
      <span className="state-icon" aria-hidden="true">
        {ICONS[state] ?? '•'}
      </span>{' '}
      {children}
    </span>
  );
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const ratio = max > 0 ? Math.min(1, value / max) : 0;
  return (
    <span className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-valuetext={`${value} / ${max}`}>
      <span className="progress-fill" style={{ inlineSize: `${Math.round(ratio * 100)}%` }} />
    </span>
  );
}
