// The renderer's entry: languages first, then the connection to the host, then the ESP.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App.js';
import { setupI18n } from './i18n.js';
import './style.css';

const requested = new URLSearchParams(location.search).get('lang') ?? navigator.language.split('-')[0] ?? 'en';
await setupI18n(requested);
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
