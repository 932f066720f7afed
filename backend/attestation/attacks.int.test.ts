// Attacks on attestation, join and sign-in, with real swtpm TPMs: each is refused with its own
// problem code and leaves nothing trusted (no attestation, no certificate, no EK binding).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { base64Decode, base64Encode, base64url, toHex, utf8Encode } from '../../protocol/encoding.js';
import { TpmAlg, TpmaObject } from '../../protocol/tpm/constants.js';
import { marshalTpm2bPublic, parseTpm2bPublic } from '../../protocol/tpm/public.js';
import { hash, identity } from '../../lab/identities.js';
import { SwtpmLab } from '../../lab/swtpm.js';
import { buildCsr, signJwt } from '../../main/enrollment/tpm-signatures.js';
import type { EndorsementKey, EkCertificate, KeyBlob } from '../../main/tpm/port.js';
import { Tpm } from '../../main/tpm/tpm.js';
import { startReplica, startTestService, type TestService } from '../testing/service.js';

interface Device {
  tpm: Tpm;
  ek: EndorsementKey;
  certificate: EkCertificate | undefined;
  ak: KeyBlob;
  registration: { serial: string; hardwareHash: string };
  id: string;
}

interface Challenge {
  challengeId: string;
  credential: { idObject: string; encryptedSecret: string };
  nonce: string;
}

const b64 = (bytes: Uint8Array) => base64Encode(bytes);
const pcrs = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];

describe.each(['sqlite', 'postgres'] as const)('attacks on %s', (kind) => {
  let trustedLab: SwtpmLab;
  let foreignLab: SwtpmLab;
  let service: TestService;
  /** A second service instance on the same database, as another replica behind a load balancer. */
  let replica: Awaited<ReturnType<typeof startReplica>>;
  let alice: Device; // trusted lab TPM, registered
  let bob: Device; // second trusted lab TPM, registered
  let mallory: Device; // TPM from a lab CA the service does not trust, registered
  let next = 1;

  async function device(lab: SwtpmLab, register = true): Promise<Device> {
    const tpm = await Tpm.open({ tcti: (await lab.startTpm(`tpm${next}`)).tcti });
    const { ek, certificate } = await tpm.primaryEk();
    const ak = await tpm.createAk();
    const n = next++;
    const registration = { serial: identity(n).serial, hardwareHash: hash(n, { ekDigest: toHex(ek.digest), tpmManufacturer: 'IBM' }) };
    const id = register ? (await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash: registration.hardwareHash } })).json<{ id: string }>().id : '';
    return { tpm, ek, certificate, ak, registration, id };
  }

  beforeAll(async () => {
    trustedLab = await SwtpmLab.create();
    foreignLab = await SwtpmLab.create();
    // Provisioning creates each lab's CA; the service trusts only the first.
    await trustedLab.provisionMany(2);
    await foreignLab.provision('tpm3');
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, { swtpmLocalCa: join(trustedLab.dir, 'ca') }, { deviceRateLimitPerMinute: 100_000 });
    replica = await startReplica(service, { deviceRateLimitPerMinute: 100_000 });
    alice = await device(trustedLab);
    bob = await device(trustedLab);
    mallory = await device(foreignLab);
  });

  afterAll(async () => {
    for (const d of [alice, bob, mallory]) await d?.tpm.close();
    await replica?.close();
    await service?.close();
    await trustedLab?.close();
    await foreignLab?.close();
  });

  const post = (url: string, payload: object) => service.request({ method: 'POST', url, payload, token: null });
  const postToReplica = (url: string, payload: object) => replica.app.inject({ method: 'POST', url, payload });
  const problemCode = (response: { json: <T>() => T }) => response.json<{ code: string }>().code;

  function challengeBody(d: Device, overrides: { ekPublic?: string; certificate?: string | null; akPublic?: string; registration?: Device['registration'] } = {}) {
    const certificate = overrides.certificate === undefined ? d.certificate && b64(d.certificate.der) : overrides.certificate;
    return {
      registration: overrides.registration ?? d.registration,
      ek: { public: overrides.ekPublic ?? b64(d.ek.public), ...(certificate ? { certificate } : {}) },
      ak: { public: overrides.akPublic ?? b64(d.ak.public) },
    };
  }

  async function challenge(d: Device): Promise<Challenge> {
    const response = await post('/v1/attest/challenge', challengeBody(d));
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Challenge>();
  }

  async function answer(d: Device, c: Challenge, tamper: { secret?: Uint8Array; nonce?: Uint8Array; ak?: KeyBlob; pcrValue?: Uint8Array } = {}, send = post) {
    const secret =
      tamper.secret ??
      (await d.tpm.activateCredential({ ak: d.ak, ek: d.ek.kind, credentialBlob: base64Decode(c.credential.idObject), secret: base64Decode(c.credential.encryptedSecret) }));
    const quote = await d.tpm.quote({ ak: tamper.ak ?? d.ak, qualifyingData: tamper.nonce ?? base64Decode(c.nonce), pcrs });
    const values = Object.fromEntries([...quote.pcrs[0]!.values].map(([i, v]) => [String(i), b64(i === 7 && tamper.pcrValue ? tamper.pcrValue : v)]));
    return send('/v1/attest/response', {
      challengeId: c.challengeId,
      secret: b64(secret),
      quote: { attest: b64(quote.attest), signature: b64(quote.signature), pcrs: [{ hash: 'sha256', values }] },
    });
  }

  async function attest(d: Device): Promise<{ token: string; nonce: Uint8Array }> {
    const c = await challenge(d);
    const response = await answer(d, c);
    expect(response.statusCode, response.body).toBe(200);
    // Attested: now, and only now (the profile request changes nothing), its deployment has begun.
    expect((await service.store.db.selectFrom('devices').select('state').where('id', '=', d.id).executeTakeFirstOrThrow()).state).toBe('deploying');
    return { token: response.json<{ attestationToken: string }>().attestationToken, nonce: base64Decode(c.nonce) };
  }

  async function joinBody(d: Device, att: { token: string; nonce: Uint8Array }, tamper: { certifier?: KeyBlob; csrKey?: KeyBlob } = {}) {
    const key = await d.tpm.createDeviceKey();
    const certification = await d.tpm.certify({ key, ak: tamper.certifier ?? d.ak, qualifyingData: att.nonce });
    const csrKey = tamper.csrKey ?? key;
    const csr = await buildCsr(d.registration.serial, parseTpm2bPublic(csrKey.public), (message) => d.tpm.signMessage({ key: csrKey, message }));
    return { key, body: { attestationToken: att.token, deviceKey: { public: b64(key.public), certifyInfo: b64(certification.attest), certifySignature: b64(certification.signature) }, csr } };
  }

  /**
   * Nothing about the device was recorded as trusted: no attestation, no certificate, not
   * deploying. A refusal after the device proved its EK (`failedWith`) is its deployment failing:
   * state "failed" with that code; before that proof, nothing about the device changes state.
   */
  async function nothingTrusted(d: Device, failedWith?: string): Promise<void> {
    const db = service.store.db;
    expect(await db.selectFrom('attestations').select('id').where('device_id', '=', d.id).execute()).toEqual([]);
    expect(await db.selectFrom('device_certificates').select('id').where('device_id', '=', d.id).execute()).toEqual([]);
    const row = await db.selectFrom('devices').select(['joined_at', 'unverified_hardware', 'state', 'failure']).where('id', '=', d.id).executeTakeFirstOrThrow();
    expect({ joined_at: row.joined_at, unverified_hardware: row.unverified_hardware }).toEqual({ joined_at: null, unverified_hardware: 0 });
    if (failedWith) {
      expect(row.state).toBe('failed');
      expect(JSON.parse(row.failure!)).toMatchObject({ code: failedWith, phase: 'device-preparation', step: 'securing-hardware' });
    } else {
      expect(['registered', 'failed']).toContain(row.state);
    }
  }

  describe('the endorsement key', () => {
    it('refuses an EK certificate from a CA the tenant does not trust', async () => {
      const response = await post('/v1/attest/challenge', challengeBody(mallory));
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'EK_CERTIFICATE_UNTRUSTED']);
      await nothingTrusted(mallory);
    });

    it('refuses an EK certificate that certifies another key than the EK', async () => {
      const response = await post('/v1/attest/challenge', challengeBody(alice, { certificate: b64(bob.certificate!.der) }));
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'EK_CERTIFICATE_MISMATCH']);
      await nothingTrusted(alice);
    });

    it("refuses a trusted EK that is not the registration's", async () => {
      const response = await post('/v1/attest/challenge', challengeBody(bob, { registration: alice.registration }));
      expect([response.statusCode, problemCode(response)]).toEqual([409, 'DEVICE_IDENTITY_MISMATCH']);
      await nothingTrusted(alice);
    });

    it('refuses an EK without a certificate unless its digest is allow-listed, then marks the device unverified', async () => {
      const refused = await post('/v1/attest/challenge', challengeBody(mallory, { certificate: null }));
      expect([refused.statusCode, problemCode(refused)]).toEqual([403, 'EK_NOT_TRUSTED']);
      await nothingTrusted(mallory);
      await service.request({ method: 'POST', url: '/v1/admin/trust-anchors', payload: { ekDigest: toHex(mallory.ek.digest), label: 'bench TPM' } });
      const c = await challenge({ ...mallory, certificate: undefined });
      const response = await answer(mallory, c);
      expect(response.json()).toMatchObject({ unverifiedHardware: true });
      expect((await service.request({ method: 'GET', url: `/v1/admin/devices/${mallory.id}` })).json()).toMatchObject({ unverifiedHardware: true });
    });
  });

  describe('binding on first use', () => {
    it('refuses a registration without an EK unless the tenant binds on first use; then binds the first EK only', async () => {
      const registration = { serial: identity(900).serial, hardwareHash: hash(900, { ekDigest: null }) };
      const id = (await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash: registration.hardwareHash } })).json<{ id: string }>().id;
      const fresh = { ...(await device(trustedLab, false)), registration }; // a TPM no registration names yet
      const refused = await post('/v1/attest/challenge', challengeBody(fresh));
      expect([refused.statusCode, problemCode(refused)]).toEqual([409, 'DEVICE_IDENTITY_MISMATCH']);
      expect((await service.request({ method: 'PUT', url: '/v1/admin/settings', payload: { bindEkOnFirstUse: true } })).json()).toEqual({ bindEkOnFirstUse: true, ekIssuerValidity: 'at-issuance', aiaHosts: [], allowVirtualTpms: false, reprovisionSameTpm: false });
      // A TPM already registered to another device cannot be bound to this one.
      const taken = await post('/v1/attest/challenge', challengeBody(alice, { registration }));
      expect([taken.statusCode, problemCode(taken)]).toEqual([409, 'DEVICE_IDENTITY_MISMATCH']);
      const c = (await post('/v1/attest/challenge', challengeBody(fresh))).json<Challenge>();
      expect((await answer(fresh, c)).statusCode).toBe(200);
      expect((await service.request({ method: 'GET', url: `/v1/admin/devices/${id}` })).json()).toMatchObject({ ekDigest: toHex(fresh.ek.digest) });
      const other = await post('/v1/attest/challenge', challengeBody(bob, { registration }));
      expect([other.statusCode, problemCode(other)]).toEqual([409, 'DEVICE_IDENTITY_MISMATCH']);
      await service.request({ method: 'PUT', url: '/v1/admin/settings', payload: { bindEkOnFirstUse: false } });
      await fresh.tpm.close();
    });
  });

  describe('the attestation key', () => {
    it('refuses an AK that is not restricted (a signing key that could sign a forged quote)', async () => {
      const key = await alice.tpm.createDeviceKey();
      const response = await post('/v1/attest/challenge', challengeBody(alice, { akPublic: b64(key.public) }));
      expect([response.statusCode, problemCode(response)]).toEqual([422, 'AK_INVALID']);
      expect(response.json<{ detail: string }>().detail).toContain('lacks restricted');
    });

    it('refuses an AK that is not fixedTPM', async () => {
      const area = parseTpm2bPublic(alice.ak.public);
      const movable = marshalTpm2bPublic({ ...area, objectAttributes: area.objectAttributes & ~TpmaObject.fixedTPM });
      const response = await post('/v1/attest/challenge', challengeBody(alice, { akPublic: b64(movable) }));
      expect([response.statusCode, problemCode(response)]).toEqual([422, 'AK_INVALID']);
      expect(response.json<{ detail: string }>().detail).toContain('fixedTPM');
      await nothingTrusted(alice);
    });
  });

  describe('the response', () => {
    it('refuses a wrong secret, and the challenge is spent even so', async () => {
      const c = await challenge(alice);
      const wrong = await answer(alice, c, { secret: new Uint8Array(32).fill(7) });
      expect([wrong.statusCode, problemCode(wrong)]).toEqual([403, 'ATTESTATION_SECRET_WRONG']);
      const retry = await answer(alice, c);
      expect([retry.statusCode, problemCode(retry)]).toEqual([409, 'CHALLENGE_USED']);
      await nothingTrusted(alice);
    });

    it('refuses a replayed challenge and an unknown one', async () => {
      const c = await challenge(bob);
      expect((await answer(bob, c)).statusCode).toBe(200);
      const replay = await answer(bob, c);
      expect([replay.statusCode, problemCode(replay)]).toEqual([409, 'CHALLENGE_USED']);
      const unknown = await answer(bob, { ...c, challengeId: randomUUID() });
      expect([unknown.statusCode, problemCode(unknown)]).toEqual([404, 'CHALLENGE_UNKNOWN']);
    });

    it('refuses an expired challenge', async () => {
      const c = await challenge(alice);
      await service.store.db.updateTable('attestation_challenges').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', c.challengeId).execute();
      const response = await answer(alice, c);
      expect([response.statusCode, problemCode(response)]).toEqual([409, 'CHALLENGE_EXPIRED']);
      await nothingTrusted(alice);
    });

    it('refuses a quote over another nonce, and the challenge is spent even so', async () => {
      const c = await challenge(alice);
      const response = await answer(alice, c, { nonce: new Uint8Array(32).fill(1) });
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'QUOTE_NONCE_MISMATCH']);
      await nothingTrusted(alice, 'QUOTE_NONCE_MISMATCH');
      const retry = await answer(alice, c);
      expect([retry.statusCode, problemCode(retry)]).toEqual([409, 'CHALLENGE_USED']);
    });

    it('takes one of two answers that race, and only one attestation is recorded', async () => {
      const c = await challenge(bob);
      const answers = await Promise.all([answer(bob, c), answer(bob, c), answer(bob, c)]);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409]);
      expect(answers.filter((a) => a.statusCode === 409).map(problemCode)).toEqual(['CHALLENGE_USED', 'CHALLENGE_USED']);
      expect(await service.store.db.selectFrom('attestations').select('id').where('challenge_id', '=', c.challengeId).execute()).toHaveLength(1);
    });

    it('refuses a quote signed by another AK of the same TPM', async () => {
      const other = await alice.tpm.createAk();
      const response = await answer(alice, await challenge(alice), { ak: other });
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'QUOTE_SIGNATURE_INVALID']);
      await nothingTrusted(alice, 'QUOTE_SIGNATURE_INVALID');
    });

    it('refuses PCR values that do not match the quoted digest', async () => {
      const response = await answer(alice, await challenge(alice), { pcrValue: new Uint8Array(32).fill(0xee) });
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'QUOTE_PCR_MISMATCH']);
      await nothingTrusted(alice, 'QUOTE_PCR_MISMATCH');
    });

    it('refuses malformed TPM structures with the field at fault', async () => {
      const truncated = await post('/v1/attest/challenge', challengeBody(alice, { ekPublic: b64(alice.ek.public.slice(0, 40)) }));
      expect([truncated.statusCode, problemCode(truncated)]).toEqual([422, 'TPM_STRUCTURE_INVALID']);
      expect(truncated.json<{ errors: { path: string }[] }>().errors[0]!.path).toBe('ek.public');
      const c = await challenge(alice);
      const secret = await alice.tpm.activateCredential({ ak: alice.ak, ek: alice.ek.kind, credentialBlob: base64Decode(c.credential.idObject), secret: base64Decode(c.credential.encryptedSecret) });
      const garbage = await post('/v1/attest/response', { challengeId: c.challengeId, secret: b64(secret), quote: { attest: b64(new Uint8Array(20)), signature: 'AAAA', pcrs: [] } });
      expect([garbage.statusCode, problemCode(garbage)]).toEqual([422, 'TPM_STRUCTURE_INVALID']);
      await nothingTrusted(alice, 'TPM_STRUCTURE_INVALID');
    });
  });

  describe('join', () => {
    it('refuses a device key certified by another AK', async () => {
      const att = await attest(alice);
      const { body } = await joinBody(alice, att, { certifier: await alice.tpm.createAk() });
      const response = await post('/v1/join', body);
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'CERTIFY_SIGNATURE_INVALID']);
      expect(await service.store.db.selectFrom('device_certificates').select('id').where('device_id', '=', alice.id).execute()).toEqual([]);
      // The device proved its TPM, so this is its deployment failing: state, and a run in its history.
      const device = await service.store.devices.get(alice.id);
      expect(device).toMatchObject({ state: 'failed', failure: { code: 'CERTIFY_SIGNATURE_INVALID', phase: 'device-preparation', step: 'joining', hresult: '0x801C03EA' } });
      const runs = await service.store.deployments.list({ deviceId: alice.id, limit: 10 });
      expect(runs.items[0]).toMatchObject({ outcome: 'failed', failure: { code: 'CERTIFY_SIGNATURE_INVALID' } });
    });

    it('refuses a CSR for another key than the certified one, and a spent attestation token', async () => {
      const att = await attest(alice);
      const { body } = await joinBody(alice, att, { csrKey: await alice.tpm.createDeviceKey() });
      const response = await post('/v1/join', body);
      expect([response.statusCode, problemCode(response)]).toEqual([403, 'CSR_KEY_MISMATCH']);
      const again = await post('/v1/join', (await joinBody(alice, att)).body);
      expect([again.statusCode, problemCode(again)]).toEqual([401, 'ATTESTATION_TOKEN_INVALID']);
      expect(await service.store.db.selectFrom('device_certificates').select('id').where('device_id', '=', alice.id).execute()).toEqual([]);
    });

    it('answers the same join asked again (its answer lost) with the same certificate, and nothing for another key with that token', async () => {
      const att = await attest(alice);
      const joined = await joinBody(alice, att);
      const first = await post('/v1/join', joined.body);
      expect(first.statusCode, first.body).toBe(200);
      const again = await post('/v1/join', joined.body);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json<{ certificate: string }>().certificate).toBe(first.json<{ certificate: string }>().certificate);
      const other = await post('/v1/join', (await joinBody(alice, att)).body);
      expect([other.statusCode, problemCode(other)]).toEqual([401, 'ATTESTATION_TOKEN_INVALID']);
      expect(await service.store.db.selectFrom('device_certificates').select('id').where('device_id', '=', alice.id).execute()).toHaveLength(1);
    });
  });

  describe('through another replica', () => {
    it('takes a challenge answered at another replica, and refuses it replayed at the first', async () => {
      const c = await challenge(alice);
      const answered = await answer(alice, c, {}, postToReplica);
      expect(answered.statusCode, answered.body).toBe(200);
      const replay = await answer(alice, c);
      expect([replay.statusCode, problemCode(replay)]).toEqual([409, 'CHALLENGE_USED']);
    });

    it('joins at another replica with an attestation token, and refuses that token for another key at the first', async () => {
      const att = await attest(alice);
      const joined = await postToReplica('/v1/join', (await joinBody(alice, att)).body);
      expect(joined.statusCode, joined.body).toBe(200);
      const other = await post('/v1/join', (await joinBody(alice, att)).body);
      expect([other.statusCode, problemCode(other)]).toEqual([401, 'ATTESTATION_TOKEN_INVALID']);
    });
  });

  describe('sign-in', () => {
    let key: KeyBlob;
    const audience = 'https://localhost:80/v1/token';
    const token = (assertion: string, host = 'localhost:80', app = service.app) =>
      app.inject({
        method: 'POST',
        url: '/v1/token',
        payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', host },
      });
    const assertion = (claims: Record<string, unknown>, signer = () => key) => {
      const now = Math.floor(Date.now() / 1000);
      return signJwt({ iss: bob.id, sub: bob.id, aud: audience, jti: randomUUID(), exp: now + 120, ...claims }, (message) => bob.tpm.signMessage({ key: signer(), message }));
    };

    beforeAll(async () => {
      const joined = await joinBody(bob, await attest(bob));
      key = joined.key;
      const response = await post('/v1/join', joined.body);
      expect(response.statusCode, response.body).toBe(200);
    });

    it('gives a token for a fresh assertion, and refuses it replayed, expired, for another audience or signed by another key', async () => {
      const good = await assertion({});
      expect((await token(good)).statusCode).toBe(200);
      expect(problemCode(await token(good))).toBe('TOKEN_REPLAYED');
      // A replica that never saw it knows it too: the jti is in the database.
      const elsewhere = await assertion({});
      expect((await token(elsewhere, 'localhost:80', replica.app)).statusCode).toBe(200);
      expect(problemCode(await token(elsewhere))).toBe('TOKEN_REPLAYED');
      expect(problemCode(await token(await assertion({ exp: Math.floor(Date.now() / 1000) - 600 })))).toBe('TOKEN_EXPIRED');
      expect(problemCode(await token(await assertion({ aud: 'https://evil.example/v1/token' })))).toBe('TOKEN_AUDIENCE_INVALID');
      // Signed for another server and sent with that server's Host: the audience is the service's
      // configured URL, not whatever the request says it is.
      const forged = await token(await assertion({ aud: 'https://evil.example/v1/token' }), 'evil.example');
      expect([forged.statusCode, problemCode(forged)]).toEqual([401, 'TOKEN_AUDIENCE_INVALID']);
      expect(forged.json<{ detail: string }>().detail).toContain('not for this service (https://localhost:80/v1/token');
      const otherKey = await bob.tpm.createDeviceKey();
      expect(problemCode(await token(await assertion({}, () => otherKey)))).toBe('TOKEN_ASSERTION_INVALID');
      expect(problemCode(await token(await assertion({ exp: Math.floor(Date.now() / 1000) + 3600 })))).toBe('TOKEN_ASSERTION_INVALID');
      const unsigned = `${base64url(utf8Encode('{"alg":"none"}'))}.${base64url(utf8Encode(JSON.stringify({ iss: bob.id, sub: bob.id, aud: audience, jti: randomUUID(), exp: 9e9 })))}.`;
      expect(problemCode(await token(unsigned))).toBe('TOKEN_ASSERTION_INVALID');
    });

    it("refuses a deleted device's key", async () => {
      expect((await service.request({ method: 'DELETE', url: `/v1/admin/devices/${bob.id}` })).statusCode).toBe(204);
      const response = await token(await assertion({}));
      expect([response.statusCode, problemCode(response)]).toEqual([401, 'DEVICE_REVOKED']);
    });
  });
});
