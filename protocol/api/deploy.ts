// The device API: what a device sends and receives before it has any credential.
import { z } from 'zod';

import { DeviceBrandingSchema } from '../branding.js';
import { HARDWARE_HASH_MAX_LENGTH } from '../hardware-hash.js';
import { DeploymentProfileSchema } from '../profile.js';

/** POST /v1/deploy/profile */
export const DeployProfileRequestSchema = z.object({
  hardwareHash: z.string().min(1).max(HARDWARE_HASH_MAX_LENGTH),
});

export const DeployProfileResponseSchema = z.object({
  deviceId: z.string(),
  profileName: z.string(),
  profile: DeploymentProfileSchema,
  branding: DeviceBrandingSchema,
  /** An administrator registered the TPM's EK certificate with the device: the agent need not ask the TPM vendor's service. */
  ekCertificateRegistered: z.boolean().default(false),
});

export type DeployProfileRequest = z.output<typeof DeployProfileRequestSchema>;
export type DeployProfileResponse = z.output<typeof DeployProfileResponseSchema>;
