// A certificate's subject or issuer as one line. Node's X509Certificate gives them as lines
// ("C=DE\nO=Infineon…"), and gives no subject at all (undefined) for a certificate whose subject
// is empty — as EK certificates' often is (the TPM is named in the subject alternative name).
export function distinguishedName(name: string | undefined): string {
  return (name ?? '').replaceAll('\n', ', ');
}
