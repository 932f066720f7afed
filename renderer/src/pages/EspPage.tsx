// The Enrollment Status Page, laid out like a first boot a technician can read across a bench:
// an overall progress bar, then Device preparation, Device setup and Account setup, each a card
// with its state (icon and words), its own progress bar and "N of M", expandable to its steps and
// items with their state and elapsed time. A polite live region announces the step in progress. A
// profile with showProgress off gets a plain "Setting up your device" and a busy bar instead.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { elapsedMs, type EspPhase, type EspSnapshot, type ItemState } from '../../../protocol/esp.js';
import { ProgressBar, StateBadge as SharedStateBadge } from '../design/components.js';

const SHOWN = ['device-preparation', 'device-setup', 'account-setup'] as const;

function useNow(): string {
  const [now, setNow] = useState(() => new Date().toISOString());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date().toISOString()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** "N of M": items in Device setup, steps elsewhere. */
export function progressOf(phase: EspPhase): { completed: number; total: number } {
  const done = (state: ItemState) => state === 'succeeded' || state === 'skipped';
  if (phase.id === 'device-setup') {
    const items = phase.steps.flatMap((s) => s.items);
    return { completed: items.filter((i) => done(i.state)).length, total: items.length };
  }
  return { completed: phase.steps.filter((s) => done(s.state)).length, total: phase.steps.length };
}

function StateBadge({ state }: { state: ItemState }) {
  const { t } = useTranslation();
  return <SharedStateBadge state={state}>{t(`state.${state}`)}</SharedStateBadge>;
}

function Phase({ phase, now }: { phase: EspPhase; now: string }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const { completed, total } = progressOf(phase);
  const id = `phase-${phase.id}`;
  return (
    <section className={`phase phase-${phase.state}`} aria-labelledby={`${id}-title`}>
      <div className="phase-row">
        <h2 id={`${id}-title`}>{t(`phase.${phase.id}`)}</h2>
        <StateBadge state={phase.state} />
        {total > 0 ? <ProgressBar value={completed} max={total} label={t(`phase.${phase.id}`)} /> : null}
        <span className="count" data-testid={`${phase.id}-count`}>
          {total > 0 ? t('progress', { completed, total }) : ''}
        </span>
        <button type="button" className="link" aria-expanded={open} aria-controls={`${id}-details`} onClick={() => setOpen(!open)}>
          {open ? t('hideDetails') : t('showDetails')}
        </button>
      </div>
      <ul id={`${id}-details`} className="details" hidden={!open}>
        {phase.steps.map((step) => (
          <li key={step.id}>
            <span className="step-title">{t(`step.${step.id}`)}</span> <StateBadge state={step.state} />{' '}
            <span className="elapsed">{step.startedAt ? t('elapsed', { seconds: Math.round(elapsedMs(step, now) / 1000) }) : ''}</span>
            {step.detail ? <div className="detail">{step.detail}</div> : null}
            {step.items.length > 0 ? (
              <ul>
                {step.items.map((item) => (
                  <li key={item.id} data-testid={`item-${item.name}`}>
                    <span>{item.name}</span> <StateBadge state={item.state} />{' '}
                    <span className="elapsed">{item.startedAt ? t('elapsed', { seconds: Math.round(elapsedMs(item, now) / 1000) }) : ''}</span>
                    {item.progress !== null && item.state === 'in-progress' ? <progress max={1} value={item.progress} /> : null}
                    {item.detail ? <div className="detail">{item.detail}</div> : null}
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function EspPage({ snapshot }: { snapshot: EspSnapshot }) {
  const { t } = useTranslation();
  const now = useNow();
  if (snapshot.rules?.showProgress === false) {
    // The profile hides setup progress: the device says it is being set up, and no more (errors,
    // the end and the diagnostics panel still show).
    return (
      <div className="esp">
        <h1>{t('title')}</h1>
        <p>{t('subtitle')}</p>
        <progress className="busy" aria-label={t('state.in-progress')} data-testid="esp-busy" />
      </div>
    );
  }
  const current = snapshot.phases.flatMap((p) => p.steps).find((s) => s.state === 'in-progress' || s.state === 'identifying');
  const shown = snapshot.phases.filter((phase) => (SHOWN as readonly string[]).includes(phase.id));
  const overall = shown.map(progressOf).reduce((sum, p) => ({ completed: sum.completed + p.completed, total: sum.total + p.total }), { completed: 0, total: 0 });
  return (
    <div className="esp">
      <h1>{t('title')}</h1>
      <p className="subtitle">{t('subtitle')}</p>
      <p className="overall">
        <ProgressBar value={overall.completed} max={overall.total} label={t('overall')} />{' '}
        <span data-testid="overall-count">{t('progress', { completed: overall.completed, total: overall.total })}</span>
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {current ? `${t(`step.${current.id}`)}: ${t(`state.${current.state}`)}` : ''}
      </p>
      {shown.map((phase) => (
        <Phase key={phase.id} phase={phase} now={now} />
      ))}
    </div>
  );
}
