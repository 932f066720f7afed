// TPMT_SIGNATURE (TPM 2.0 Part 2 §11.3.4) for RSASSA, RSAPSS and ECDSA, and its conversion to
// the forms X.509/JOSE verifiers take (RSA: the raw signature; ECDSA: IEEE P1363 r || s).
import { ByteReader, ByteWriter, TpmDecodeError, concatBytes } from './bytes.js';
import { DIGEST_SIZES, TpmAlg } from './constants.js';

export type TpmSignature =
  | { sigAlg: typeof TpmAlg.RSASSA | typeof TpmAlg.RSAPSS; hashAlg: number; signature: Uint8Array }
  | { sigAlg: typeof TpmAlg.ECDSA; hashAlg: number; r: Uint8Array; s: Uint8Array };

const MAX_RSA_KEY_BYTES = 512;
const MAX_ECC_KEY_BYTES = 128;

export function parseTpmtSignature(bytes: Uint8Array): TpmSignature {
  const r = new ByteReader(bytes, 'TPMT_SIGNATURE');
  const sigAlg = r.u16('sigAlg');
  const hashAlg = r.u16('hash');
  if (!DIGEST_SIZES.has(hashAlg)) throw new TpmDecodeError(r.structure, `hash 0x${hashAlg.toString(16)} is not a known hash`);
  let result: TpmSignature;
  if (sigAlg === TpmAlg.RSASSA || sigAlg === TpmAlg.RSAPSS) {
    result = { sigAlg, hashAlg, signature: r.sized('sig', MAX_RSA_KEY_BYTES) };
  } else if (sigAlg === TpmAlg.ECDSA) {
    result = { sigAlg, hashAlg, r: r.sized('signatureR', MAX_ECC_KEY_BYTES), s: r.sized('signatureS', MAX_ECC_KEY_BYTES) };
  } else {
    throw new TpmDecodeError(r.structure, `signature algorithm 0x${sigAlg.toString(16)} is not RSASSA, RSAPSS or ECDSA`);
  }
  r.finish();
  return result;
}

export function marshalTpmtSignature(sig: TpmSignature): Uint8Array {
  const w = new ByteWriter().u16(sig.sigAlg).u16(sig.hashAlg);
  if (sig.sigAlg === TpmAlg.ECDSA) w.sized(sig.r).sized(sig.s);
  else w.sized(sig.signature);
  return w.finish();
}

/** ECDSA as IEEE P1363 (r || s, each left-padded to the coordinate size); RSA unchanged. */
export function signatureBytes(sig: TpmSignature, coordinateSize = 0): Uint8Array {
  if (sig.sigAlg !== TpmAlg.ECDSA) return sig.signature;
  const size = Math.max(coordinateSize, sig.r.length, sig.s.length);
  const pad = (v: Uint8Array) => {
    const out = new Uint8Array(size);
    out.set(v, size - v.length);
    return out;
  };
  return concatBytes(pad(sig.r), pad(sig.s));
}
