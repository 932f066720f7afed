// The Tpm facade's own behaviour, over a scripted stand-in for the native addon: bounded time,
// the mapping of native failures onto TpmUnavailable/TpmError, quote consistency, and input
// checks. What the TPM itself does is proven against swtpm in tpm.int.test.ts.
import { describe, expect, it, vi } from 'vitest';

import { ByteWriter } from '../../protocol/tpm/bytes.js';
import { TPM_GENERATED_VALUE, TpmAlg, TpmCap, TpmEccCurve, TpmPt, TpmSt, TpmaObject } from '../../protocol/tpm/constants.js';
import { marshalPcrSelection } from '../../protocol/tpm/pcr.js';
import { TpmError, TpmUnavailable } from './errors.js';
import { loadNativeAddon, type NativeAddon, type NativeTpmContext } from './native.js';
import { nodeHash } from '../../protocol/node/tpm-crypto.js';
import type { KeyBlob } from './port.js';
import { validateTcti } from './tcti.js';
import { splitDer, trimDer } from './der.js';
import { Tpm } from './tpm.js';
import { EK_KINDS, EK_POLICY_B_SHA384, EK_POLICY_B_SHA512, EK_PROFILES, ekProfile } from './templates.js';

type Script = Partial<NativeTpmContext>;

function addonWith(script: Script, abandon = vi.fn()): { addon: () => NativeAddon; abandon: typeof abandon; tctis: (string | null)[] } {
  const tctis: (string | null)[] = [];
  class ScriptedContext {
    constructor(tcti: string | null) {
      tctis.push(tcti);
      const notScripted = (name: string) => () => Promise.reject(new Error(`${name} not scripted`));
      return new Proxy(
        { open: () => Promise.resolve(), close: () => Promise.resolve(), abandon, ...script },
        { get: (target, key: string) => (target as Record<string, unknown>)[key] ?? notScripted(key) },
      );
    }
  }
  return { addon: () => ({ TpmContext: ScriptedContext as unknown as NativeAddon['TpmContext'], napiVersion: 8 }), abandon, tctis };
}

const never = () => new Promise<never>(() => undefined);

function nativeError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

const key: KeyBlob = {
  public: Uint8Array.of(0, 0),
  private: Uint8Array.of(0, 0),
  name: Uint8Array.of(0, 0x0b, 1, 2, 3),
  parentName: Uint8Array.of(0, 0x0b, 9),
};

describe('opening a TPM', () => {
  it('reports a missing addon as TpmUnavailable with its own code', async () => {
    const opening = Tpm.open({ addon: () => loadNativeAddon('/nonexistent/selfdeploy_tpm.node') });
    await expect(opening).rejects.toBeInstanceOf(TpmUnavailable);
    await expect(opening).rejects.toMatchObject({ code: 'TPM_ADDON_MISSING', reason: 'addon-missing' });
  });

  it('gives up on a TPM that never answers within the open timeout, and abandons its worker', async () => {
    const { addon, abandon } = addonWith({ open: never });
    const started = Date.now();
    const opening = Tpm.open({ tcti: 'swtpm:host=127.0.0.1,port=9', openTimeoutMs: 150, addon });
    await expect(opening).rejects.toMatchObject({ name: 'TpmUnavailable', code: 'TPM_UNAVAILABLE', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(abandon).toHaveBeenCalledTimes(1);
  });

  it('maps a TCTI that cannot connect to TpmUnavailable, keeping the TSS text', async () => {
    const { addon } = addonWith({
      open: () => Promise.reject(nativeError("no TPM answers on TCTI 'x': tcti:IO failure", { code: 'TCTI_UNAVAILABLE', rc: 0xa000a })),
    });
    await expect(Tpm.open({ addon })).rejects.toMatchObject({ code: 'TPM_UNAVAILABLE', reason: 'no-answer', message: expect.stringContaining('IO failure') });
  });

  it('passes the TCTI through, and null for the default search', async () => {
    const { addon, tctis } = addonWith({});
    await (await Tpm.open({ addon })).close();
    await (await Tpm.open({ addon, tcti: 'device:/dev/tpmrm0' })).close();
    expect(tctis).toEqual([null, 'device:/dev/tpmrm0']);
  });
});

describe('commands', () => {
  it('fails a command that hangs with TpmUnavailable, and every later call at once', async () => {
    const getRandom = vi.fn(never);
    const { addon, abandon } = addonWith({ getRandom });
    const tpm = await Tpm.open({ addon, commandTimeoutMs: 100 });
    await expect(tpm.getRandom(8)).rejects.toMatchObject({ reason: 'timeout', message: expect.stringContaining('GetRandom') });
    expect(abandon).toHaveBeenCalledTimes(1);
    await expect(tpm.getRandom(8)).rejects.toMatchObject({ reason: 'timeout' });
    expect(getRandom).toHaveBeenCalledTimes(1);
    await tpm.close();
  });

  it('treats a TCTI failure mid-session as a lost TPM, and a TPM error as a command failure', async () => {
    const { addon } = addonWith({
      getRandom: () => Promise.reject(nativeError('Esys_GetRandom failed: tcti:IO failure', { code: 'TSS2_RC', rc: 0xa000a })),
      nvRead: () =>
        Promise.reject(nativeError('Esys_NV_Read failed', { code: 'TSS2_RC', call: 'Esys_NV_Read', rc: 0x14c, rcText: 'tpm:error(2.0): NV access authorization fails' })),
    });
    const tpm = await Tpm.open({ addon });
    const nv = tpm.ekCertificates();
    await expect(nv).rejects.toBeInstanceOf(TpmError);
    await expect(nv).rejects.toMatchObject({ code: 'TPM_COMMAND_FAILED', call: 'Esys_NV_Read', rc: 0x14c, rcText: expect.stringContaining('NV access') });
    await expect(tpm.getRandom(4)).rejects.toMatchObject({ name: 'TpmUnavailable', reason: 'connection-lost' });
  });

  it('keeps the specific catalogue code of a key blob from another parent', async () => {
    const { addon } = addonWith({
      loadKey: () => Promise.reject(nativeError('the key blob was created under another parent', { code: 'TPM_PARENT_MISMATCH' })),
    });
    const tpm = await Tpm.open({ addon });
    await expect(tpm.loadKey(key)).rejects.toMatchObject({ name: 'TpmError', code: 'TPM_PARENT_MISMATCH' });
  });

  it('refuses a reloaded key whose TPM name differs from the one recorded with its blob', async () => {
    const { addon } = addonWith({ loadKey: () => Promise.resolve({ name: Uint8Array.of(0, 0x0b, 7) }) });
    const tpm = await Tpm.open({ addon });
    await expect(tpm.loadKey(key)).rejects.toMatchObject({ code: 'TPM_STRUCTURE_INVALID' });
  });

  it('refuses to certify with an AK from another parent before asking the TPM', async () => {
    const certify = vi.fn();
    const { addon } = addonWith({ certify });
    const tpm = await Tpm.open({ addon });
    await expect(tpm.certify({ key, ak: { ...key, parentName: Uint8Array.of(1) }, qualifyingData: Uint8Array.of() })).rejects.toMatchObject({
      code: 'TPM_PARENT_MISMATCH',
    });
    expect(certify).not.toHaveBeenCalled();
  });
});

describe('quotes', () => {
  const selection = [{ hashAlg: TpmAlg.SHA256, pcrs: [0] }];
  const pcr = (fill: number) => new Uint8Array(32).fill(fill);

  function quoteOver(value: Uint8Array) {
    const w = new ByteWriter().u32(TPM_GENERATED_VALUE).u16(TpmSt.ATTEST_QUOTE).sized(Uint8Array.of(0, 0x0b)).sized(Uint8Array.of(7));
    w.u32(0).u32(1).u32(0).u32(0).u8(1).u32(0).u32(0); // clock (u64), reset, restart, safe, firmware (u64)
    w.raw(marshalPcrSelection(selection)).sized(nodeHash(TpmAlg.SHA256, value));
    return w.finish();
  }
  const signature = new ByteWriter().u16(TpmAlg.ECDSA).u16(TpmAlg.SHA256).sized(Uint8Array.of(1)).sized(Uint8Array.of(2)).finish();
  const read = (value: Uint8Array) => [
    { updateCounter: 1, selection: marshalPcrSelection(selection), digests: new ByteWriter().u32(1).sized(value).finish() },
  ];

  it('takes the quote again when a PCR changed between TPM2_Quote and TPM2_PCR_Read', async () => {
    const quote = vi
      .fn()
      .mockResolvedValueOnce({ attest: quoteOver(pcr(1)), signature, pcrs: read(pcr(2)) })
      .mockResolvedValueOnce({ attest: quoteOver(pcr(2)), signature, pcrs: read(pcr(2)) });
    const { addon } = addonWith({ quote });
    const tpm = await Tpm.open({ addon });
    const result = await tpm.quote({ ak: key, qualifyingData: Uint8Array.of(7), pcrs: selection });
    expect(quote).toHaveBeenCalledTimes(2);
    expect(result.pcrs[0]!.values.get(0)).toEqual(pcr(2));
    expect(result.parsed.extraData).toEqual(Uint8Array.of(7));
  });

  it('fails after three quotes whose PCR values never match their digest', async () => {
    const quote = vi.fn().mockResolvedValue({ attest: quoteOver(pcr(1)), signature, pcrs: read(pcr(3)) });
    const { addon } = addonWith({ quote });
    const tpm = await Tpm.open({ addon });
    await expect(tpm.quote({ ak: key, qualifyingData: Uint8Array.of(7), pcrs: selection })).rejects.toMatchObject({ code: 'TPM_COMMAND_FAILED' });
    expect(quote).toHaveBeenCalledTimes(3);
  });
});

describe('info', () => {
  it('reads manufacturer, vendor, firmware and spec revision from the fixed properties', async () => {
    const props: [number, number][] = [
      [TpmPt.FAMILY_INDICATOR, 0x322e3000],
      [TpmPt.REVISION, 164],
      [TpmPt.MANUFACTURER, 0x49465800], // "IFX"
      [TpmPt.VENDOR_STRING_1, 0x534c4239],
      [TpmPt.VENDOR_STRING_2, 0x36373000],
      [TpmPt.FIRMWARE_VERSION_1, 0x0007003f],
      [TpmPt.FIRMWARE_VERSION_2, 0x0d190000],
    ];
    const properties = new ByteWriter().u32(TpmCap.TPM_PROPERTIES).u32(props.length);
    for (const [p, v] of props) properties.u32(p).u32(v);
    const pcrs = new ByteWriter().u32(TpmCap.PCRS).raw(marshalPcrSelection([{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2] }, { hashAlg: TpmAlg.SHA1, pcrs: [] }]));
    const { addon } = addonWith({
      getCapability: ({ capability }) =>
        Promise.resolve({ moreData: false, data: capability === TpmCap.PCRS ? pcrs.finish() : properties.finish() }),
    });
    const info = await (await Tpm.open({ addon })).info();
    expect(info).toMatchObject({ manufacturer: 'IFX', vendor: 'SLB9670', firmwareVersion: '7.63.3353.0', family: '2.0', specRevision: 164 });
    expect(info.pcrBanks).toEqual([{ hashAlg: TpmAlg.SHA256, name: 'sha256', pcrs: [0, 1, 2] }]);
  });
});

describe('input checks', () => {
  it('accepts tctildr configurations and refuses anything else before loading the TSS', () => {
    for (const ok of ['swtpm:host=127.0.0.1,port=2321', 'device:/dev/tpmrm0', 'mssim', 'tabrmd:bus_type=system']) {
      expect(validateTcti(ok)).toBe(ok);
    }
    for (const bad of ['', 'swtpm:host=x\n', 'Swtpm', ':port=1', 'swtpm:\u0000', `swtpm:${'a'.repeat(300)}`]) {
      expect(() => validateTcti(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('keeps only the DER certificate out of a padded NV index', () => {
    const der = Uint8Array.of(0x30, 0x82, 0x00, 0x02, 0xaa, 0xbb);
    expect(trimDer(Uint8Array.of(...der, 0xff, 0xff, 0x00))).toEqual(der);
    expect(trimDer(Uint8Array.of(0x30, 0x01, 0x05, 0x00))).toEqual(Uint8Array.of(0x30, 0x01, 0x05));
    expect(trimDer(Uint8Array.of(0x04, 0x01, 0x05))).toEqual(Uint8Array.of(0x04, 0x01, 0x05));
  });

  it('splits a chain NV index into its certificates, one after another, padding dropped', () => {
    const a = Uint8Array.of(0x30, 0x02, 0xaa, 0xbb);
    const b = Uint8Array.of(0x30, 0x81, 0x01, 0xcc);
    expect(splitDer(Uint8Array.of(...a, ...b, 0xff, 0xff))).toEqual([a, b]);
    expect(splitDer(Uint8Array.of(0xff, ...a))).toEqual([]);
    // A length past the end is no certificate.
    expect(splitDer(Uint8Array.of(0x30, 0x05, 0x01))).toEqual([]);
  });
});

describe('EK templates (TCG EK Credential Profile)', () => {
  it('knows every RSA and NIST ECC kind, preferred ECC by size, then high-range RSA, then RSA 2048, each with its certificate index and handle', () => {
    expect(EK_PROFILES.map((p) => [p.kind, p.certificateIndex, p.persistentHandle])).toEqual([
      ['ecc-p256', 0x01c0000a, 0x81010002],
      ['ecc-p384', 0x01c00016, 0x81010016],
      ['ecc-p521', 0x01c00018, 0x81010018],
      ['rsa-3072', 0x01c0001c, 0x8101001c],
      ['rsa-4096', 0x01c0001e, 0x8101001e],
      ['rsa-2048', 0x01c00002, 0x81010001],
    ]);
    expect(EK_PROFILES.map((p) => p.kind)).toEqual([...EK_KINDS]);
  });

  it('makes P-521 (H-4) with SHA-512 names and PolicyB of SHA-512, RSA 4096 (H-7) as RSA 3072 with a 4096-bit key', () => {
    const highRange = TpmaObject.fixedTPM | TpmaObject.fixedParent | TpmaObject.sensitiveDataOrigin | TpmaObject.userWithAuth | TpmaObject.adminWithPolicy | TpmaObject.restricted | TpmaObject.decrypt;
    const p521 = ekProfile('ecc-p521').template;
    expect(p521.type === TpmAlg.ECC && [p521.curve, p521.nameAlg, p521.objectAttributes, p521.symmetric]).toEqual([TpmEccCurve.NIST_P521, TpmAlg.SHA512, highRange, { algorithm: TpmAlg.AES, keyBits: 256, mode: TpmAlg.CFB }]);
    expect(p521.authPolicy).toEqual(EK_POLICY_B_SHA512);
    expect(EK_POLICY_B_SHA512.length).toBe(64);
    const rsa4096 = ekProfile('rsa-4096').template;
    expect(rsa4096.type === TpmAlg.RSA && [rsa4096.keyBits, rsa4096.nameAlg, rsa4096.objectAttributes, rsa4096.symmetric]).toEqual([4096, TpmAlg.SHA384, highRange, { algorithm: TpmAlg.AES, keyBits: 256, mode: TpmAlg.CFB }]);
    expect(rsa4096.authPolicy).toEqual(EK_POLICY_B_SHA384);
    // RSA 3072 is unchanged by the 4096 template made from it.
    const rsa3072 = ekProfile('rsa-3072').template;
    expect(rsa3072.type === TpmAlg.RSA && rsa3072.keyBits).toBe(3072);
  });
});
