// The admin console's entry: its languages, then the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';

import { ConsoleApp } from './App.js';
import { setupConsoleI18n } from './i18n.js';
import './admin.css';

const i18n = await setupConsoleI18n();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>
      <ConsoleApp />
    </I18nextProvider>
  </StrictMode>,
);
