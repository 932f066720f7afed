// The device API before any credential: a device presents its hardware hash and receives its
// deployment profile and the organisation's branding — nothing secret, and nothing changes: the
// device record moves to "deploying" only once the device has attested (backend/attestation).
// A serial number that is not registered and one registered with another TPM are answered alike,
// so the endpoint tells nobody which serial numbers an organisation has.
import { device as deviceApi } from '../../../protocol/api/endpoints.js';
import { resolveForDevice } from '../../deployment/assignments.js';
import { ServiceError } from '../../errors.js';
import { identityFromHash } from '../../registrations/import.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';

export function deployRoutes(store: Store, rateLimitPerMinute: number): Route[] {
  return [
    route(
      deviceApi.profile,
      async ({ body }) => {
        const identity = identityFromHash(body.hardwareHash, 'hardwareHash');
        const device = await store.devices.findBySerial(identity.serial, identity.manufacturer);
        if (!device || (device.ekDigest && identity.ekDigest !== device.ekDigest)) {
          throw new ServiceError('DEVICE_NOT_REGISTERED', `no device with serial number ${identity.serial} of ${identity.manufacturer} and this TPM is registered`);
        }
        // A deployed device may come back only where the tenant lets the same TPM re-provision (it proves that when it attests).
        if (device.state === 'deployed' && !(await store.tenant.settings()).reprovisionSameTpm) {
          throw new ServiceError('REENROLLMENT_BLOCKED', `device ${identity.serial} was deployed on ${device.deployedAt}; an administrator must delete its device record first`);
        }
        const resolution = await resolveForDevice(store, device);
        if (!resolution.profile) {
          throw new ServiceError('PROFILE_NOT_ASSIGNED', `device ${identity.serial} is registered but no deployment profile is assigned to its groups`);
        }
        const tenant = await store.tenant.require();
        return {
          deviceId: device.id,
          profileName: resolution.profile.document.name,
          profile: resolution.profile.document.body,
          branding: { ...tenant.branding, logo: tenant.logo },
          ekCertificateRegistered: device.ekCertificate !== null,
        };
      },
      { rateLimitPerMinute },
    ),
  ];
}
