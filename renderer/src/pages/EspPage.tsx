// The Enrollment Status Page: Device preparation, Device setup and Account setup, each with its
// state and "N of M", expandable to its steps and items with their state and elapsed time. A
// polite live region announces the step in progress. A profile with showProgress off gets a
// plain "Setting up your device" and a busy bar instead.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { elapsedMs, type EspPhase, type EspSnapshot, type ItemState } from '../../../protocol/esp.js';

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
  return <span className={`state state-${state}`}>{t(`state.${state}`)}</span>;
}

function Phase({ phase, now }: { phase: EspPhase; now: string }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const { completed, total } = progressOf(phase);
  const id = `phase-${phase.id}`;
  return (
    <section className="phase" aria-labelledby={`${id}-title`}>
      <div className="phase-row">
        <h2 id={`${id}-title`}>{t(`phase.${phase.id}`)}</h2>
        <StateBadge state={phase.state} />
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
  return (
    <div className="esp">
      <h1>{t('title')}</h1>
      <p>{t('subtitle')}</p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {current ? `${t(`step.${current.id}`)}: ${t(`state.${current.state}`)}` : ''}
      </p>
      {snapshot.phases
        .filter((phase) => (SHOWN as readonly string[]).includes(phase.id))
        .map((phase) => (
          <Phase key={phase.id} phase={phase} now={now} />
        ))}
    </div>
  );
}
