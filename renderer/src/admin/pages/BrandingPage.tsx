// The organization's branding — name, accent colour, logo, support contact — with a live preview:
// the real ESP renderer, framed, showing a made-up deployment (on the way, failed, done) in the
// branding as it is being edited, before anything is saved. The accent's readable text colours
// are the ESP's own (contrast ≥ 4.5:1 whatever the accent).
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { EspSnapshot } from '../../../../protocol/esp.js';
import { LOGO_MAX_BYTES, LOGO_MEDIA_TYPES, type DeviceBranding, type Logo } from '../../../../protocol/branding.js';
import type { BrandingViewSchema } from '../../../../protocol/api/admin.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { ApiError, base64Of, call, describeError, pathOf, type Session } from '../api.js';
import { PREVIEW_PAGES, previewHost, previewSnapshot, type PreviewPage } from '../esp-preview.js';
import { useApi } from '../use-api.js';

interface Form {
  organizationName: string;
  accentColor: string;
  phone: string;
  email: string;
  url: string;
}

export function BrandingPage({ session }: { session: Session }) {
  const { t, i18n } = useTranslation();
  const saved = useApi<z.output<typeof BrandingViewSchema>>(pathOf(adminApi.tenant.getBranding));
  const [form, setForm] = useState<Form | null>(null);
  /** The logo shown: the saved one, a new one chosen (sent on save), or none (removed on save). */
  const [logo, setLogo] = useState<{ logo: Logo | null; changed: boolean }>({ logo: null, changed: false });
  const [page, setPage] = useState<PreviewPage>('progress');
  const [message, setMessage] = useState<string | null>(null);
  const frame = useRef<HTMLIFrameElement>(null);
  const admin = session.token.scope === 'admin';

  useEffect(() => {
    if (!saved.data) return;
    const b = saved.data;
    setForm({ organizationName: b.organizationName, accentColor: b.accentColor, phone: b.support.phone ?? '', email: b.support.email ?? '', url: b.support.url ?? '' });
    if (b.logo)
      call(adminApi.tenant.getLogo).then(
        (l) => setLogo({ logo: l, changed: false }),
        () => setLogo({ logo: null, changed: false }),
      );
  }, [saved.data]);

  const branding: DeviceBranding | null = useMemo(() => {
    if (!form) return null;
    const accent = /^#[0-9a-fA-F]{6}$/.test(form.accentColor) ? form.accentColor.toLowerCase() : '#0067b8';
    return {
      organizationName: form.organizationName.trim() || '—',
      accentColor: accent,
      support: { ...(form.phone ? { phone: form.phone } : {}), ...(form.email ? { email: form.email } : {}), ...(form.url ? { url: form.url } : {}) },
      logo: logo.logo,
    };
  }, [form, logo]);

  // The console plays the framed ESP's host; every edit is shown at once.
  const host = useRef<ReturnType<typeof previewHost> | null>(null);
  const shown = useRef<EspSnapshot | null>(null);
  useEffect(() => {
    const made = previewHost(
      () => frame.current?.contentWindow,
      () => shown.current,
    );
    host.current = made;
    return () => made.stop();
  }, []);
  useEffect(() => {
    if (!branding) return;
    shown.current = previewSnapshot(branding, page);
    host.current?.show(shown.current);
  }, [branding, page]);

  if (!form || !branding) return saved.error ? <p role="alert">{describeError(saved.error)}</p> : <p aria-busy="true">{t('loading')}</p>;

  const chooseLogo = async (file: File | undefined) => {
    setMessage(null);
    if (!file) return;
    if (file.size > LOGO_MAX_BYTES) return setMessage(t('branding.logoTooLarge', { max: `${LOGO_MAX_BYTES / 1024} KB` }));
    const mediaType = LOGO_MEDIA_TYPES.find((m) => m === file.type);
    if (!mediaType) return setMessage(t('branding.logoType'));
    setLogo({ logo: { mediaType, data: await base64Of(file) }, changed: true });
  };
  const save = async () => {
    setMessage(null);
    try {
      await call(adminApi.tenant.putBranding, {
        body: {
          organizationName: form.organizationName,
          accentColor: form.accentColor,
          support: branding.support,
          ...(logo.changed ? { logo: logo.logo?.data ?? null } : {}),
        },
      });
      setLogo({ ...logo, changed: false });
      setMessage(t('branding.saved'));
    } catch (e) {
      setMessage(e instanceof ApiError ? describeError(e) : String(e));
    }
  };
  const input = (key: keyof Form, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} value={form[key]} readOnly={!admin} onChange={(e) => setForm({ ...form, [key]: e.target.value })} />
    </label>
  );

  return (
    <>
      <h1>{t('branding.title')}</h1>
      <div className="branding">
        <form
          className="settings"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          {input('organizationName', t('branding.organizationName'))}
          <span className="accent">
            <label>
              {t('branding.accentColor')}
              <input type="color" value={/^#[0-9a-fA-F]{6}$/.test(form.accentColor) ? form.accentColor : '#0067b8'} disabled={!admin} onChange={(e) => setForm({ ...form, accentColor: e.target.value })} />
            </label>
            {input('accentColor', t('branding.accentHex'))}
          </span>
          {input('phone', t('branding.phone'), 'tel')}
          {input('email', t('branding.email'), 'email')}
          {input('url', t('branding.url'), 'url')}
          {admin ? (
            <span className="actions">
              <label>
                {t('branding.logo')}
                <input type="file" accept={LOGO_MEDIA_TYPES.join(',')} onChange={(e) => void chooseLogo(e.target.files?.[0])} />
              </label>
              {logo.logo ? (
                <button type="button" onClick={() => setLogo({ logo: null, changed: true })}>
                  {t('branding.removeLogo')}
                </button>
              ) : null}
            </span>
          ) : null}
          {admin ? (
            <button type="submit" className="primary">
              {t('branding.save')}
            </button>
          ) : null}
          {message ? <p role="status">{message}</p> : null}
        </form>
        <section className="preview" aria-labelledby="preview-title">
          <h2 id="preview-title">{t('branding.preview')}</h2>
          <fieldset>
            <legend>{t('branding.previewPage')}</legend>
            {PREVIEW_PAGES.map((p) => (
              <label key={p} className="inline">
                <input type="radio" name="preview-page" checked={page === p} onChange={() => setPage(p)} /> {t(`branding.page.${p}`)}
              </label>
            ))}
          </fieldset>
          <div className="screen">
            <iframe ref={frame} title={t('branding.previewFrame')} src={`/admin/esp-preview.html?lang=${encodeURIComponent(i18n.language)}#preview`} />
          </div>
        </section>
      </div>
    </>
  );
}
