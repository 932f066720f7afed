// The TPM as the agent uses it: one connection per TCTI, every operation the self-deploy
// sequence needs (EK certificates and publics, AK, credential activation, quotes, device key,
// certification, signing), typed values in and out, bounded in time. When no TPM answers or
// the addon is missing, every entry point fails with TpmUnavailable.
import { equalBytes, unsized } from '../../protocol/tpm/bytes.js';
import { TpmCap, TpmPt, TpmSt, TpmaPermanent, hashName } from '../../protocol/tpm/constants.js';
import { parseTpmsAttest } from '../../protocol/tpm/attest.js';
import {
  marshalPcrSelection,
  pcrValuesFromReads,
  quotedPcrConcatenation,
  type PcrBankSelection,
  type PcrBankValues,
} from '../../protocol/tpm/pcr.js';
import { marshalTpm2bPublic, parseTpm2bPublic, type TpmtPublic } from '../../protocol/tpm/public.js';
import { parseTpmtSignature } from '../../protocol/tpm/signature.js';
import { nodeHash, sha256, tpmName } from '../../protocol/node/tpm-crypto.js';
import { parseHandles, parsePcrBanks, parseTpmProperties, propertyText } from './capability.js';
import { splitDer, trimDer } from './der.js';
import { TpmError, TpmUnavailable, fromNative } from './errors.js';
import { loadNativeAddon, type NativeAddon, type NativePrimarySpec, type NativeTpmContext } from './native.js';
import type { Certification, EkCertificate, EndorsementKey, KeyBlob, Quote, TpmPort } from './port.js';
import { validateTcti } from './tcti.js';
import {
  DEVICE_KEY_TEMPLATE,
  EK_PROFILES,
  SRK_PERSISTENT_HANDLE,
  SRK_TEMPLATE,
  akTemplate,
  ekProfile,
  type AkAlgorithm,
  type EkKind,
} from './templates.js';

export interface TpmOpenOptions {
  /** tctildr configuration: "swtpm:host=127.0.0.1,port=2321", "device:/dev/tpmrm0"; default search if absent. */
  tcti?: string;
  /** How long the TPM has to answer its first command (default 5 s). */
  openTimeoutMs?: number;
  /** How long any later operation may take (default 120 s: RSA key generation on real chips takes seconds). */
  commandTimeoutMs?: number;
  /** For tests: the addon to use instead of loading native/. */
  addon?: () => NativeAddon;
}

export interface TpmInfo {
  tcti: string;
  manufacturer: string;
  /** TPM_PT_MANUFACTURER as the TCG vendor ID, e.g. 0x49424d00 ("IBM"). */
  manufacturerId: number;
  vendor: string;
  /** Dotted like Windows' tpm.msc: FW1 high.low . FW2 high.low. */
  firmwareVersion: string;
  firmwareVersionRaw: [number, number];
  family: string;
  specLevel: number;
  /** Spec revision times 100 (164 = 1.64). */
  specRevision: number;
  specDate: { year: number; dayOfYear: number };
  pcrBanks: { hashAlg: number; name: string; pcrs: number[] }[];
}

class Deadline extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Deadline()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** PCRs can change between TPM2_Quote and TPM2_PCR_Read; a quote is retried this often. */
const QUOTE_ATTEMPTS = 3;

export class Tpm implements TpmPort {
  private failed: TpmUnavailable | undefined;
  private closed = false;

  private constructor(
    private readonly context: NativeTpmContext,
    readonly tcti: string,
    private readonly commandTimeoutMs: number,
  ) {}

  static async open(options: TpmOpenOptions = {}): Promise<Tpm> {
    const tcti = options.tcti === undefined ? undefined : validateTcti(options.tcti);
    const label = tcti ?? 'default';
    const addon = (options.addon ?? loadNativeAddon)();
    const context = new addon.TpmContext(tcti ?? null);
    const openTimeoutMs = options.openTimeoutMs ?? 5_000;
    try {
      await within(context.open(), openTimeoutMs);
    } catch (error) {
      if (error instanceof Deadline) {
        context.abandon();
        throw new TpmUnavailable('timeout', `no TPM answered on TCTI '${label}' within ${openTimeoutMs} ms`);
      }
      throw fromNative(error, 'open', tcti);
    }
    return new Tpm(context, label, options.commandTimeoutMs ?? 120_000);
  }

  /** Runs one native operation within the command deadline, mapping its failures. */
  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new TpmUnavailable('connection-lost', 'the TPM connection is closed');
    try {
      return await within(call(), this.commandTimeoutMs);
    } catch (error) {
      if (error instanceof Deadline) {
        // The worker thread is stuck in the TSS; let the process exit without it.
        this.context.abandon();
        this.failed = new TpmUnavailable('timeout', `the TPM did not answer ${operation} within ${this.commandTimeoutMs} ms`);
        throw this.failed;
      }
      const mapped = fromNative(error, 'command');
      if (mapped instanceof TpmUnavailable) this.failed = mapped;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failed) return; // abandoned: the worker finalizes once it returns
    await this.context.close();
  }

  // ---- identity ----

  async info(): Promise<TpmInfo> {
    const properties = new Map<number, number>();
    let next: number = TpmPt.FAMILY_INDICATOR;
    for (;;) {
      const { moreData, data } = await this.run('GetCapability', () =>
        this.context.getCapability({ capability: TpmCap.TPM_PROPERTIES, property: next, count: 64 }),
      );
      const page = parseTpmProperties(data);
      for (const [property, value] of page) properties.set(property, value);
      if (!moreData || page.size === 0) break;
      next = Math.max(...page.keys()) + 1;
      if (next >= 0x200) break; // past the fixed properties (PT_FIXED group)
    }
    const { data: pcrData } = await this.run('GetCapability', () =>
      this.context.getCapability({ capability: TpmCap.PCRS, property: 0, count: 16 }),
    );
    const fw1 = properties.get(TpmPt.FIRMWARE_VERSION_1) ?? 0;
    const fw2 = properties.get(TpmPt.FIRMWARE_VERSION_2) ?? 0;
    return {
      tcti: this.tcti,
      manufacturer: propertyText(properties.get(TpmPt.MANUFACTURER)),
      manufacturerId: properties.get(TpmPt.MANUFACTURER) ?? 0,
      vendor: [TpmPt.VENDOR_STRING_1, TpmPt.VENDOR_STRING_2, TpmPt.VENDOR_STRING_3, TpmPt.VENDOR_STRING_4]
        .map((p) => propertyText(properties.get(p)))
        .join('')
        .trim(),
      firmwareVersion: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
      firmwareVersionRaw: [fw1, fw2],
      family: propertyText(properties.get(TpmPt.FAMILY_INDICATOR)),
      specLevel: properties.get(TpmPt.LEVEL) ?? 0,
      specRevision: properties.get(TpmPt.REVISION) ?? 0,
      specDate: { year: properties.get(TpmPt.YEAR) ?? 0, dayOfYear: properties.get(TpmPt.DAY_OF_YEAR) ?? 0 },
      pcrBanks: parsePcrBanks(pcrData)
        .filter((bank) => bank.pcrs.length > 0)
        .map((bank) => ({ hashAlg: bank.hashAlg, name: hashNameOrHex(bank.hashAlg), pcrs: bank.pcrs })),
    };
  }

  /**
   * What decides whether the agent can use the TPM: its hierarchies' passwords (the agent uses the
   * owner and endorsement hierarchies with empty ones) and its dictionary-attack lockout.
   */
  async usability(): Promise<{ ownerAuthSet: boolean; endorsementAuthSet: boolean; inLockout: boolean; lockoutCounter: number; maxAuthFail: number; lockoutRecoverySeconds: number }> {
    const { data } = await this.run('GetCapability', () => this.context.getCapability({ capability: TpmCap.TPM_PROPERTIES, property: TpmPt.PERMANENT, count: 32 }));
    const properties = parseTpmProperties(data);
    const permanent = properties.get(TpmPt.PERMANENT) ?? 0;
    return {
      ownerAuthSet: (permanent & TpmaPermanent.ownerAuthSet) !== 0,
      endorsementAuthSet: (permanent & TpmaPermanent.endorsementAuthSet) !== 0,
      inLockout: (permanent & TpmaPermanent.inLockout) !== 0,
      lockoutCounter: properties.get(TpmPt.LOCKOUT_COUNTER) ?? 0,
      maxAuthFail: properties.get(TpmPt.MAX_AUTH_FAIL) ?? 0,
      lockoutRecoverySeconds: properties.get(TpmPt.LOCKOUT_RECOVERY) ?? 0,
    };
  }

  /** The TPM's manufacturer as text (TPM_PT_MANUFACTURER: "IFX", "NTC", "IBM" for swtpm). */
  async manufacturer(): Promise<string> {
    return (await this.info()).manufacturer;
  }

  /** The EK certificates this TPM holds in NV, in EK_PROFILES order. */
  async ekCertificates(): Promise<EkCertificate[]> {
    const certificates: EkCertificate[] = [];
    for (const profile of EK_PROFILES) {
      const content = await this.run('NV_Read', () => this.context.nvRead({ index: profile.certificateIndex }));
      if (content && content.length > 0) {
        certificates.push({ kind: profile.kind, nvIndex: profile.certificateIndex, der: trimDer(content) });
      }
    }
    return certificates;
  }

  /**
   * The certificates of the EK's chain the TPM keeps (TCG EK Credential Profile: NV indices
   * 0x01C00100–0x01C001FF, each one or more DER certificates, in index order): intermediates the
   * service may need between the EK certificate and a manufacturer root.
   */
  async ekChainCertificates(): Promise<Uint8Array[]> {
    const { data } = await this.run('GetCapability', () => this.context.getCapability({ capability: TpmCap.HANDLES, property: EK_CHAIN_FIRST, count: EK_CHAIN_LAST - EK_CHAIN_FIRST + 1 }));
    const certificates: Uint8Array[] = [];
    for (const index of parseHandles(data).filter((h) => h >= EK_CHAIN_FIRST && h <= EK_CHAIN_LAST)) {
      const content = await this.run('NV_Read', () => this.context.nvRead({ index }));
      if (content) certificates.push(...splitDer(content));
      if (certificates.length >= 16) break;
    }
    return certificates.slice(0, 16);
  }

  async ekPublic(kind: EkKind): Promise<EndorsementKey> {
    const profile = ekProfile(kind);
    const result = await this.run('CreatePrimary', () =>
      this.context.primaryPublic({ primary: ekSpec(kind) }),
    );
    const area = parseTpm2bPublic(result.public);
    return {
      kind: profile.kind,
      public: new Uint8Array(result.public),
      area,
      name: new Uint8Array(result.name),
      digest: sha256(unsized(result.public, 'TPM2B_PUBLIC')),
      persistent: result.persistent,
    };
  }

  /**
   * The EK the agent attests with: the first kind (ECC P-256, P-384, P-521, RSA 3072, 4096, 2048) whose
   * certificate the TPM holds; without any certificate, the RSA 2048 EK every TPM 2.0 supports.
   */
  async primaryEk(certificates?: EkCertificate[]): Promise<{ ek: EndorsementKey; certificate?: EkCertificate }> {
    const certs = certificates ?? (await this.ekCertificates());
    const certificate = certs[0];
    const ek = await this.ekPublic(certificate?.kind ?? 'rsa-2048');
    return certificate ? { ek, certificate } : { ek };
  }

  // ---- keys ----

  async createAk(alg: AkAlgorithm = 'ecc'): Promise<KeyBlob> {
    return this.createKey('Create (AK)', akTemplate(alg));
  }

  async createDeviceKey(): Promise<KeyBlob> {
    return this.createKey('Create (device key)', DEVICE_KEY_TEMPLATE);
  }

  private async createKey(operation: string, template: TpmtPublic): Promise<KeyBlob> {
    const created = await this.run(operation, () =>
      this.context.createKey({ parent: srkSpec(), template: marshalTpm2bPublic(template) }),
    );
    const area = parseTpm2bPublic(created.public);
    return {
      public: new Uint8Array(created.public),
      private: new Uint8Array(created.private),
      name: tpmName(area),
      parentName: new Uint8Array(created.parentName),
    };
  }

  async persistParent(key: KeyBlob): Promise<void> {
    const status = await this.run('EvictControl (SRK)', () => this.context.persistPrimary({ primary: srkSpec(key) }));
    if (status === 'occupied') {
      throw new TpmError(
        'TPM_COMMAND_FAILED',
        `the persistent handle 0x${SRK_PERSISTENT_HANDLE.toString(16)} holds another key than the storage root key this key was made under, so a key file cannot name its parent there (clear that handle with tpm2_evictcontrol, or the TPM)`,
      );
    }
  }

  /** Loads a blob again (after a restart) and checks the TPM computes the name it was saved with. */
  async loadKey(key: KeyBlob): Promise<Uint8Array> {
    const { name } = await this.run('Load', () => this.context.loadKey({ parent: srkSpec(key), key: blobOf(key) }));
    if (!equalBytes(name, key.name)) {
      throw new TpmError('TPM_STRUCTURE_INVALID', 'the loaded key has another name than its blob records');
    }
    return new Uint8Array(name);
  }

  // ---- attestation ----

  /** TPM2_ActivateCredential: recovers the secret a verifier bound to this AK's name and this EK. */
  async activateCredential(args: {
    ak: KeyBlob;
    ek: EkKind;
    credentialBlob: Uint8Array;
    secret: Uint8Array;
  }): Promise<Uint8Array> {
    const secret = await this.run('ActivateCredential', () =>
      this.context.activateCredential({
        parent: srkSpec(args.ak),
        key: blobOf(args.ak),
        ek: ekSpec(args.ek),
        credentialBlob: args.credentialBlob,
        secret: args.secret,
      }),
    );
    return new Uint8Array(secret);
  }

  /**
   * TPM2_Quote over `qualifyingData` and the PCR values it covers. The values are read right
   * after the quote; if a PCR was extended in between, the quote is taken again.
   */
  async quote(args: { ak: KeyBlob; qualifyingData: Uint8Array; pcrs: PcrBankSelection[] }): Promise<Quote> {
    const selection = marshalPcrSelection(args.pcrs);
    for (let attempt = 1; ; attempt++) {
      const result = await this.run('Quote', () =>
        this.context.quote({ parent: srkSpec(args.ak), key: blobOf(args.ak), qualifyingData: args.qualifyingData, pcrSelection: selection }),
      );
      const parsed = parseTpmsAttest(result.attest);
      if (parsed.type !== TpmSt.ATTEST_QUOTE) throw new TpmError('TPM_STRUCTURE_INVALID', 'TPM2_Quote returned no quote');
      const pcrs = pcrValuesFromReads(result.pcrs);
      const signatureHash = parseTpmtSignature(result.signature).hashAlg;
      const digest = nodeHash(signatureHash, quotedPcrConcatenation(parsed.pcrSelection, pcrs));
      if (equalBytes(digest, parsed.pcrDigest)) {
        return { attest: new Uint8Array(result.attest), signature: new Uint8Array(result.signature), parsed, pcrs };
      }
      if (attempt >= QUOTE_ATTEMPTS) {
        throw new TpmError('TPM_COMMAND_FAILED', `PCR values kept changing while quoting (${attempt} attempts)`);
      }
    }
  }

  /** TPM2_Certify: the AK attests that `key` lives in this TPM, over `qualifyingData`. */
  async certify(args: { key: KeyBlob; ak: KeyBlob; qualifyingData: Uint8Array }): Promise<Certification> {
    if (!equalBytes(args.key.parentName, args.ak.parentName)) {
      throw new TpmError('TPM_PARENT_MISMATCH', 'the key and the AK were created under different parents');
    }
    const result = await this.run('Certify', () =>
      this.context.certify({
        parent: srkSpec(args.key),
        object: blobOf(args.key),
        signer: blobOf(args.ak),
        qualifyingData: args.qualifyingData,
      }),
    );
    const parsed = parseTpmsAttest(result.attest);
    if (parsed.type !== TpmSt.ATTEST_CERTIFY) throw new TpmError('TPM_STRUCTURE_INVALID', 'TPM2_Certify returned no certification');
    return { attest: new Uint8Array(result.attest), signature: new Uint8Array(result.signature), parsed };
  }

  /** TPM2_Sign of a digest with an unrestricted key; returns the marshalled TPMT_SIGNATURE. */
  async sign(args: { key: KeyBlob; digest: Uint8Array }): Promise<Uint8Array> {
    const signature = await this.run('Sign', () =>
      this.context.sign({ parent: srkSpec(args.key), key: blobOf(args.key), digest: args.digest }),
    );
    return new Uint8Array(signature);
  }

  /** Signs SHA-256(message): the digest is computed here, the signature made in the TPM. */
  async signMessage(args: { key: KeyBlob; message: Uint8Array }): Promise<Uint8Array> {
    return this.sign({ key: args.key, digest: sha256(args.message) });
  }

  // ---- misc ----

  async getRandom(size: number): Promise<Uint8Array> {
    return new Uint8Array(await this.run('GetRandom', () => this.context.getRandom({ size })));
  }

  async pcrRead(pcrs: PcrBankSelection[]): Promise<PcrBankValues[]> {
    const reads = await this.run('PCR_Read', () => this.context.pcrRead({ selection: marshalPcrSelection(pcrs) }));
    return pcrValuesFromReads(reads);
  }
}

function hashNameOrHex(alg: number): string {
  try {
    return hashName(alg);
  } catch {
    return `0x${alg.toString(16)}`;
  }
}

function ekSpec(kind: EkKind): NativePrimarySpec {
  const profile = ekProfile(kind);
  return {
    hierarchy: 'endorsement',
    persistentHandle: profile.persistentHandle,
    template: marshalTpm2bPublic(profile.template),
  };
}

function srkSpec(key?: KeyBlob): NativePrimarySpec {
  const spec: NativePrimarySpec = {
    hierarchy: 'owner',
    persistentHandle: SRK_PERSISTENT_HANDLE,
    template: marshalTpm2bPublic(SRK_TEMPLATE),
  };
  if (key) spec.name = key.parentName;
  return spec;
}

function blobOf(key: KeyBlob) {
  return { public: key.public, private: key.private };
}

/** The TCG EK certificate chain indices (EK Credential Profile 2.5, §2.2.1.5.2). */
const EK_CHAIN_FIRST = 0x01c00100;
const EK_CHAIN_LAST = 0x01c001ff;
