import { useTranslation } from 'react-i18next';

import type { EspSnapshot } from '../../../protocol/esp.js';

export function DonePage({ snapshot }: { snapshot: EspSnapshot }) {
  const { t } = useTranslation();
  const end = snapshot.endState;
  return (
    <div className="done">
      <h1>{t('done.heading')}</h1>
      <p>{end?.type === 'kiosk' ? t('done.kiosk', { mode: end.mode }) : t('done.signIn')}</p>
      {snapshot.device.deviceName ? <p data-testid="device-name">{snapshot.device.deviceName}</p> : null}
    </div>
  );
}
