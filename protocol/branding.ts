// The organisation's branding as the ESP shows it. The logo travels inline (base64) so a device
// needs no second request before it can show who it is enrolling into.
import { z } from 'zod';

export const LOGO_MAX_BYTES = 512 * 1024;
export const LOGO_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const;

export const BrandingSchema = z.object({
  organizationName: z.string().trim().min(1).max(128),
  /** #RRGGBB; the ESP derives readable text colours from it (contrast ≥ 4.5:1). */
  accentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #RRGGBB colour')
    .transform((c) => c.toLowerCase())
    .default('#0067b8'),
  support: z
    .object({
      phone: z.string().regex(/^\+?[0-9 ()./-]{3,32}$/, 'must be a phone number').optional(),
      email: z.email().max(254).optional(),
      url: z
        .string()
        .max(2048)
        .regex(/^https:\/\/[^\s]+$/i, 'must be an https:// URL')
        .optional(),
    })
    .prefault({}),
});

export type Branding = z.output<typeof BrandingSchema>;

export const LogoSchema = z.object({
  mediaType: z.enum(LOGO_MEDIA_TYPES),
  /** base64 of the image bytes. */
  data: z.string().max(Math.ceil(LOGO_MAX_BYTES / 3) * 4),
});

export type Logo = z.output<typeof LogoSchema>;

/** Branding with its logo, as the device receives it. */
export const DeviceBrandingSchema = BrandingSchema.extend({ logo: LogoSchema.nullable() });
export type DeviceBranding = z.output<typeof DeviceBrandingSchema>;
