// The one error catalogue: one entry per stable code, with everything that code means wherever it
// shows — title, message, remedy and docs anchor for people; where it comes from (`origin`), the
// HTTP status the service answers it with (`http`), the exit status of a command line that fails
// with it (`exit`), and whether a client should wait it out and try again (`retryable`). The
// agent, the ESP, every CLI, the logs, the service and docs/errors.md all read it (a test keeps
// the doc in step). `hresult` is the Windows Autopilot code where the meaning matches, so
// technicians who know Autopilot recognise it.

/**
 * Who reports a code: the agent on the device (engine, ESP, `selfdeploy`), selfdeploy-helper, the
 * deployment service, or any of the command lines (a usage error, a file, the service not reached).
 */
export type ErrorOrigin = 'agent' | 'helper' | 'service' | 'cli';

export interface CatalogueEntry {
  readonly code: string;
  readonly origin: ErrorOrigin;
  /** The HTTP status of a problem response with this code (only codes the service answers with have one). */
  readonly http?: number;
  /** The exit status of a command line that fails with this code: 2 usage, 3 no TPM or service to work with, 70 a defect, else 1. */
  readonly exit: 1 | 2 | 3 | 70;
  /** Worth waiting out and trying again (the service or the helper is away or overloaded), not a verdict. */
  readonly retryable: boolean;
  readonly hresult?: string;
  readonly title: string;
  readonly message: string;
  readonly remedy: string;
}

const entries = [
  {
    code: 'TPM_UNAVAILABLE',
    origin: 'agent', exit: 3, retryable: false,
    hresult: '0x800705B4',
    title: 'No TPM 2.0 answered',
    message: 'The device did not answer as a TPM 2.0 within the time allowed, or stopped answering.',
    remedy:
      'Enable the TPM 2.0 in the firmware setup (Security → TPM / PTT / fTPM), check that /dev/tpmrm0 exists and that the agent runs in the "tss" group. In a lab, check that swtpm is running on the TCTI given (selfdeploy tpm info --tcti …).',
  },
  {
    code: 'TPM_ADDON_MISSING',
    origin: 'agent', exit: 3, retryable: false,
    hresult: '0x800705B4',
    title: 'The TPM component is missing',
    message: 'The agent could not load its TPM component (the native tpm2-tss addon), so it cannot reach the TPM.',
    remedy:
      'Reinstall the selfdeploy package. From a source checkout, run `npm run build:native` (needs libtss2-dev), or simply `npm test` / `npm run lab`, which build it.',
  },
  {
    code: 'TPM_COMMAND_FAILED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The TPM refused a command',
    message: 'The TPM answered a command with an error; the log names the command and the TPM return code.',
    remedy:
      'Collect the logs and send them to your administrator. Do not clear the TPM unless told to: clearing it invalidates the device identity.',
  },
  {
    code: 'TPM_PARENT_MISMATCH',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The device keys no longer belong to this TPM',
    message: 'A key this device created earlier cannot be loaded: the TPM was cleared or its storage key replaced since then.',
    remedy:
      'Ask the administrator to delete the device record on the deployment service, then reset the device so that it self-deploys again with new keys.',
  },
  {
    code: 'TPM_EK_POLICY_UNSUPPORTED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'Unsupported endorsement key',
    message: "The TPM's endorsement key uses an authorization policy the agent cannot satisfy, so attestation is impossible with it.",
    remedy: 'Report the TPM model to the selfdeploy project; meanwhile the administrator can register the device as unverified hardware.',
  },
  {
    code: 'TPM_NV_NOT_READABLE',
    origin: 'agent', exit: 1, retryable: false,
    title: 'A TPM certificate cannot be read',
    message: 'An NV index that should hold an endorsement certificate needs an authorization the agent does not have.',
    remedy: 'Collect the logs and send them to your administrator; the device may need its EK certificate registered by hand.',
  },
  {
    code: 'TPM_STRUCTURE_INVALID',
    origin: 'agent', http: 422, exit: 1, retryable: false,
    title: 'Malformed TPM data',
    message: 'A TPM structure (a public key, a quote, a signature) is malformed or truncated.',
    remedy: 'If this repeats, collect the logs: the TPM firmware or the data sent to it is faulty.',
  },
  {
    code: 'DEVICE_NOT_REGISTERED',
    origin: 'service', http: 404, exit: 1, retryable: false,
    title: 'This device is not registered',
    message: 'The deployment service has no registration for this device, so it cannot give it a deployment profile.',
    remedy:
      "Export this device's hardware hash (shown on the screen, or `selfdeploy hash --csv`) and have an administrator import it; then restart the setup.",
  },
  {
    code: 'PROFILE_NOT_ASSIGNED',
    origin: 'service', http: 404, exit: 1, retryable: false,
    title: 'No deployment profile for this device',
    message: 'The device is registered, but no deployment profile is assigned to any of its groups.',
    remedy: 'Assign a deployment profile to a group the device is in (selfdeploy-admin profiles assign NAME --group GROUP); then restart the setup.',
  },
  {
    code: 'REENROLLMENT_BLOCKED',
    origin: 'service', http: 409, exit: 1, retryable: false,
    hresult: '0x80180014',
    title: 'This device was already deployed',
    message: 'The service records this device as deployed; a second self-deployment is blocked.',
    remedy: 'An administrator must delete the device record on the deployment service (selfdeploy-admin devices delete-record SERIAL); then restart the setup.',
  },
  {
    code: 'DEVICE_IDENTITY_MISMATCH',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'This device does not match its registration',
    message:
      "The device's TPM does not match its registration: another TPM endorsement key was registered for it, none was and this service does not bind one on first use, or this TPM is registered to another device.",
    remedy:
      'Check that the right hardware hash was imported for this device (with its TPM); re-import it if the TPM or mainboard was replaced, or let the service bind TPMs on first use (selfdeploy-admin settings set --bind-ek-on-first-use on).',
  },
  {
    code: 'TPM_IN_LOCKOUT',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The TPM is locked out',
    message: 'The TPM refuses authorizations for now: too many wrong passwords were tried (dictionary-attack lockout).',
    remedy: 'Wait for the lockout to end (selfdeploy tpm check says how long), or reset it with the lockout password (tpm2_dictionarylockout --clear-lockout); clearing the TPM in the firmware setup also ends it.',
  },
  {
    code: 'TPM_OWNED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The TPM has a password set',
    message: "The TPM's owner or endorsement hierarchy has a password, so the agent cannot create its keys or use the endorsement key.",
    remedy: 'Clear the TPM in the firmware setup (Security → TPM → Clear) on a device that is being set up anew, or remove the passwords (tpm2_changeauth) where they are known.',
  },
  {
    code: 'TPM_VIRTUAL',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x800705B4',
    title: 'Virtual TPMs are not allowed',
    message: "This device's TPM is virtual (emulated in software, or a hypervisor's), and the organisation does not let devices with a virtual TPM self-deploy.",
    remedy: 'Set up a physical device with a TPM 2.0 enabled in its firmware. For a lab, the administrator can allow virtual TPMs: selfdeploy-admin settings set --allow-virtual-tpms on.',
  },
  {
    code: 'EK_CERTIFICATE_SERVICE_UNREACHABLE',
    origin: 'agent', exit: 3, retryable: true,
    hresult: '0x801C03EA',
    title: "The TPM vendor's certificate service cannot be reached",
    message: "The TPM keeps no endorsement key certificate, and its manufacturer's EK certificate service did not answer (or answered with a server error) within the time allowed.",
    remedy:
      "Let the device reach its TPM vendor's EK certificate service over HTTPS (docs/operations.md, \"The device's network requirements\"), or name a mirror in the profile (tpm.ekCertificateServices). Offline, a technician can fetch the certificate once (selfdeploy tpm info --fetch-ek-certificate) and the administrator registers it with the device (selfdeploy-admin devices ek-certificate SERIAL FILE).",
  },
  {
    code: 'EK_CERTIFICATE_NOT_AVAILABLE',
    origin: 'agent', exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'No certificate for this TPM',
    message: "The TPM keeps no endorsement key certificate, and its manufacturer's EK certificate service has none for it (or there is no service for this manufacturer).",
    remedy:
      "The administrator can register the TPM's EK certificate with the device (selfdeploy-admin devices ek-certificate SERIAL FILE), or allow its EK digest (selfdeploy tpm info prints it; selfdeploy-admin trust-anchors add-ek-digest); the device is then marked unverified hardware.",
  },
  {
    code: 'EK_CERTIFICATE_SERVICE_INVALID',
    origin: 'agent', exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: "The TPM vendor's certificate service answered wrongly",
    message: "The TPM manufacturer's EK certificate service answered with something that is not a certificate for this TPM's endorsement key.",
    remedy: 'Check the EK certificate service named in the profile (tpm.ekCertificateServices: its URL and format); a proxy may have changed the answer. Otherwise register the certificate or the EK digest by hand, as for a TPM without a certificate.',
  },
  {
    code: 'EK_CERTIFICATE_UNTRUSTED',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: "The TPM's certificate is not trusted",
    message: "The TPM's endorsement key certificate does not chain to a TPM manufacturer CA this organisation trusts, or a certificate in the chain is expired.",
    remedy: "The administrator must add the TPM manufacturer's CA certificates as trust anchors (selfdeploy-admin trust-anchors add FILE.pem); then restart the setup.",
  },
  {
    code: 'EK_CERTIFICATE_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: "The TPM's certificate is for another key",
    message: "The endorsement key certificate the device sent certifies a different key than its TPM's endorsement key.",
    remedy: 'This points to a faulty or tampered TPM or firmware. Do not use the device; report it to the administrator.',
  },
  {
    code: 'EK_NOT_TRUSTED',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'The TPM cannot be verified',
    message: "The TPM has no endorsement key certificate and its endorsement key is not on the organisation's allow-list.",
    remedy: "The administrator can allow this TPM's EK digest (selfdeploy tpm info prints it; selfdeploy-admin trust-anchors add-ek-digest); the device is then marked unverified hardware.",
  },
  {
    code: 'EK_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'Unsuitable endorsement key',
    message: 'The key sent as endorsement key is not a TPM storage key with AES-CFB protection, so no credential can be made for it.',
    remedy: 'Update the agent; if it persists, report the TPM model to the selfdeploy project.',
  },
  {
    code: 'AK_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'Unsuitable attestation key',
    message: 'The attestation key must be a restricted signing key that never leaves its TPM (fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign; not decrypt; SHA-256 or better).',
    remedy: 'Update the agent; an attestation key made by other tools must have these attributes.',
  },
  {
    code: 'CHALLENGE_UNKNOWN',
    origin: 'service', http: 404, exit: 1, retryable: false,
    title: 'Unknown attestation challenge',
    message: 'The service has no attestation challenge with this id.',
    remedy: 'Restart the attestation: the agent requests a new challenge by itself.',
  },
  {
    code: 'CHALLENGE_USED',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'Attestation challenge already used',
    message: 'Each attestation challenge can be answered once; this one was answered before.',
    remedy: "The agent requests a new challenge by itself; if this repeats, someone may be replaying the device's messages.",
  },
  {
    code: 'CHALLENGE_EXPIRED',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'Attestation challenge expired',
    message: 'The attestation challenge was answered after its five minutes.',
    remedy: "The agent requests a new challenge by itself; check the device's clock and the network if this repeats.",
  },
  {
    code: 'ATTESTATION_SECRET_WRONG',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'TPM attestation failed',
    message: 'The device could not recover the secret bound to its TPM: the attestation key and endorsement key are not in the same TPM.',
    remedy: 'Restart the setup. If it fails again the TPM may need a firmware update or a clear by the administrator.',
  },
  {
    code: 'QUOTE_SIGNATURE_INVALID',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'TPM attestation failed',
    message: "The PCR quote is not signed by the device's attestation key.",
    remedy: 'Restart the setup; if it persists, collect logs for the administrator.',
  },
  {
    code: 'QUOTE_NONCE_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'TPM attestation failed',
    message: 'The PCR quote was not made for this attestation challenge (wrong or replayed nonce).',
    remedy: "Restart the setup; if it persists, someone may be replaying the device's messages.",
  },
  {
    code: 'QUOTE_PCR_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'TPM attestation failed',
    message: 'The PCR values sent do not match what the TPM quoted, or the quote covers other PCRs than requested.',
    remedy: 'Restart the setup; if it persists, collect logs for the administrator.',
  },
  {
    code: 'ATTESTATION_TOKEN_INVALID',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'The attestation is no longer valid',
    message: 'The attestation token is unknown, expired or already used.',
    remedy: 'Restart the setup: the agent attests again by itself.',
  },
  {
    code: 'DEVICE_KEY_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'Unsuitable device key',
    message: 'The device key must be an ECC P-256 ECDSA-SHA256 signing key that never leaves its TPM (fixedTPM, fixedParent, sensitiveDataOrigin; not restricted, not decrypt).',
    remedy: 'Update the agent; if it persists, report the TPM model to the selfdeploy project.',
  },
  {
    code: 'CERTIFY_SIGNATURE_INVALID',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'The device key is not vouched for',
    message: 'The certification of the device key is not signed by the attested attestation key.',
    remedy: 'Restart the setup; if it persists, collect logs for the administrator.',
  },
  {
    code: 'CERTIFY_KEY_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'The device key is not vouched for',
    message: 'The certification names another key than the device key sent.',
    remedy: 'Restart the setup; if it persists, collect logs for the administrator.',
  },
  {
    code: 'CERTIFY_NONCE_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    hresult: '0x801C03EA',
    title: 'The device key is not vouched for',
    message: 'The certification of the device key was not made for this attestation.',
    remedy: "Restart the setup; if it persists, someone may be replaying the device's messages.",
  },
  {
    code: 'CSR_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'Invalid certificate request',
    message: 'The certificate request does not parse or its signature is not valid.',
    remedy: 'Update the agent; if it persists, collect logs for the administrator.',
  },
  {
    code: 'CSR_KEY_MISMATCH',
    origin: 'service', http: 403, exit: 1, retryable: false,
    title: 'The certificate request is for another key',
    message: 'The certificate request is not for the device key the TPM certified.',
    remedy: 'Restart the setup; if it persists, collect logs for the administrator.',
  },
  {
    code: 'TOKEN_ASSERTION_INVALID',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'Invalid device assertion',
    message: "The device's client assertion is malformed, not ES256, not signed by the device key, or lives longer than five minutes.",
    remedy: 'Restart the agent; if it persists, the device may need to enroll again (the administrator deletes its device record).',
  },
  {
    code: 'TOKEN_EXPIRED',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'Expired device assertion',
    message: "The device's client assertion has expired.",
    remedy: "Check the device's clock (it must be within a minute of the service's); the agent retries with a new assertion.",
  },
  {
    code: 'TOKEN_AUDIENCE_INVALID',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'Device assertion for another service',
    message: "The device's client assertion names another token endpoint than this service's.",
    remedy: 'Check the service URL the agent is configured with.',
  },
  {
    code: 'TOKEN_REPLAYED',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'Replayed device assertion',
    message: 'This client assertion (its jti) was already used.',
    remedy: "The agent makes a new assertion for every request; if this repeats, someone may be replaying the device's messages.",
  },
  {
    code: 'DEVICE_REVOKED',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: "The device's certificate is revoked",
    message: 'The device record was deleted or its certificate revoked, so the device can no longer sign in.',
    remedy: 'If the device should be managed again, restart its setup so it self-deploys and enrolls anew.',
  },
  {
    code: 'HARDWARE_HASH_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'Invalid hardware hash',
    message: 'The hardware hash is not one selfdeploy produced, or it was damaged in transit.',
    remedy: 'Export the hash again on the device (`selfdeploy hash --csv`) and copy it whole, without line breaks.',
  },
  {
    code: 'CSV_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The device list has errors',
    message: 'The CSV file has rows that cannot be imported; nothing was imported.',
    remedy:
      'Fix every row listed (row numbers count the header as row 1, as a spreadsheet does) and import the whole file again. The header must be: Device Serial Number,Hardware Hash,Group Tag,Assigned User.',
  },
  {
    code: 'DEVICE_DUPLICATE',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'The device is already registered',
    message: 'A device with the same serial number and manufacturer, or the same TPM endorsement key, is already registered.',
    remedy: 'Leave the existing registration, or delete it first if the device should be registered anew.',
  },
  {
    code: 'ENROLLMENT_STATE_INVALID',
    origin: 'agent', exit: 1, retryable: false,
    title: "The agent's saved enrollment is damaged",
    message: "The file in which the agent keeps its TPM key blobs and device certificate cannot be read or is damaged.",
    remedy:
      "Remove the agent's enrollment.json from its state directory and restart the setup: the device enrolls again (if it was already joined, an administrator deletes its device record first).",
  },
  {
    code: 'JOURNAL_INVALID',
    origin: 'agent', exit: 1, retryable: false,
    title: "The agent's setup journal is damaged",
    message: 'The journal in which the agent records each step and applied item cannot be read or is damaged, so it cannot tell where to resume.',
    remedy:
      "Collect the logs, then remove deploy-journal.json from the agent's state directory and restart the setup; items already applied are detected and not applied again.",
  },
  {
    code: 'DEVICE_NOT_JOINED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The device has not joined yet',
    message: 'A check-in needs the device certificate the device receives when it joins; this device has not set up with this service far enough to have one.',
    remedy: 'Run the setup first (selfdeploy deploy, or the first-boot unit); the check-in timer is for devices that have joined. Check that --server and --state are the ones setup used.',
  },
  {
    code: 'STATE_DIR_UNUSABLE',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The agent cannot write its state',
    message: 'The state directory (journal, keys, certificate) cannot be created or written, so progress would be lost on a restart.',
    remedy: 'Give the agent a writable state directory on persistent storage (--state DIR, default /var/lib/selfdeploy) with room to spare.',
  },
  {
    code: 'IDENTITY_INCOMPLETE',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The hardware identity is incomplete',
    message: "The firmware does not report the device's serial number or manufacturer, so no hardware hash can be made.",
    remedy:
      'Set the serial number in the firmware setup (or ask the vendor for a tool to do it). In a lab or a VM, pass the identity in a file: --identity FILE (see docs/operations.md).',
  },
  {
    code: 'HASH_FILE_CONFLICT',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The device is already in the collection file',
    message: 'The hardware-hash file already holds a row with this serial number, or it is not a hardware-hash CSV.',
    remedy: 'Use the row that is there, remove it first to replace it, or append to another file.',
  },
  {
    code: 'NETWORK_UNAVAILABLE',
    origin: 'agent', exit: 1, retryable: false,
    title: 'No network connection',
    message: 'The device has no network interface that is up with a route to the deployment service.',
    remedy: 'Plug in an Ethernet cable with Internet access, or connect to Wi-Fi, then restart the setup.',
  },
  {
    code: 'DNS_FAILED',
    origin: 'agent', exit: 1, retryable: false,
    title: "The service's name does not resolve",
    message: 'The name of the deployment service could not be resolved to an address.',
    remedy: 'Check the DNS servers the network hands out (DHCP) and that the service name is spelled right; a captive portal or proxy may need to be passed first.',
  },
  {
    code: 'CLOCK_SKEW',
    origin: 'agent', exit: 1, retryable: false,
    title: "The device's clock is wrong",
    message: "The device's clock differs from the deployment service's by more than five minutes, so certificates and signed requests would be refused.",
    remedy:
      'Set the date and time in the firmware setup, or let the device reach an NTP server (timedatectl set-ntp true), then restart the setup.',
  },
  {
    code: 'ESP_TIMEOUT',
    origin: 'agent', exit: 1, retryable: false,
    hresult: '0x800705B4',
    title: 'Setup took too long',
    message: "Setup did not finish within the time the deployment profile allows (the Enrollment Status Page's timeout).",
    remedy:
      'Check the network and the service, collect the logs, then reset the device or retry. An administrator can raise the timeout in the profile (esp.timeoutMinutes).',
  },
  {
    code: 'OS_UPDATES_FAILED',
    origin: 'agent', exit: 1, retryable: true,
    title: "The system's updates could not be applied",
    message: "The deployment profile has the device apply its operating system's updates during setup, and apt could not apply them.",
    remedy: 'Check that the device reaches its package repositories (apt-get update), look at /var/log/selfdeploy/os-updates.log (collected with the logs), then choose Try again; the administrator can turn the updates off in the profile (osUpdates.apply: none).',
  },
  {
    code: 'ITEM_FAILED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'A required item could not be applied',
    message: 'A policy, certificate, network connection, app or script the device must have could not be applied.',
    remedy: 'The item and its error are shown; collect the logs and send them to your administrator, who can fix the item and have the device retry.',
  },
  {
    code: 'ITEM_NOT_DETECTED',
    origin: 'agent', exit: 1, retryable: false,
    hresult: '0x87D1041C',
    title: 'An app was not detected after installation',
    message: "The installer finished, but the app's detection rule does not find it on the device.",
    remedy: "An administrator checks the app's detection rule (file path or package version) against what the installer really installs.",
  },
  {
    code: 'ITEM_PATH_REFUSED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'An item names a place outside the device setup may change',
    message: 'A policy, package or script names a path that climbs out of the target ("..") or leads out of it through a symlink, or where a file is expected something else stands. Nothing was written.',
    remedy: 'An administrator fixes the item (or the package) so that every path stays inside the device; the device then retries.',
  },
  {
    code: 'CONTENT_DIGEST_MISMATCH',
    origin: 'agent', http: 422, exit: 1, retryable: false,
    title: 'Downloaded content is not what was expected',
    message: 'The bytes received do not have the SHA-256 digest the item names: the content was damaged or tampered with on its way.',
    remedy: 'Retry. If it repeats, the network (a proxy) alters downloads, or the content on the service was replaced: re-upload it.',
  },
  {
    code: 'ESP_ACTION_NOT_ALLOWED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'This button is not available now',
    message: 'The Enrollment Status Page offers Try again, Reset device, Continue anyway and Collect logs only when the deployment profile allows them and only at the moment they apply (Try again after a failure, Continue while a failure waits for a decision).',
    remedy: 'Use one of the buttons the page shows. An administrator can allow more in the profile (esp.allowReset, esp.allowContinue, esp.allowLogCollection).',
  },
  {
    code: 'IPC_INVALID',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The setup screen sent a request the agent does not understand',
    message: 'A message between the Enrollment Status Page and the agent did not parse as one of the commands of the contract, with valid arguments.',
    remedy: 'Restart the device. If it repeats, reinstall selfdeploy: the screen and the agent come from different versions.',
  },
  {
    code: 'CONTENT_NOT_ASSIGNED',
    origin: 'helper', exit: 1, retryable: false,
    title: 'A change for an item not assigned to this device was refused',
    message: 'The privileged helper changes the system only for items the deployment service assigned to this device, and runs a script or installs a package only when it is that item\'s own content; this item or content is not assigned (or the service could not be asked).',
    remedy: 'If the item was just assigned, retry. If it repeats, collect the logs: something on the device asked the helper to run content the service never assigned.',
  },
  {
    code: 'HELPER_UNAVAILABLE',
    origin: 'helper', exit: 1, retryable: true,
    title: 'The device setup helper is not running',
    message: "Device setup changes the system through selfdeploy-helper, a small privileged service; the agent could not reach its socket, or the helper stopped answering.",
    remedy: 'Start it (systemctl enable --now selfdeploy-helper) and check that the agent runs as a member of the "selfdeploy" group, which may use /run/selfdeploy/helper.sock; then retry.',
  },
  {
    code: 'HELPER_REFUSED',
    origin: 'helper', exit: 1, retryable: false,
    title: 'The device setup helper refused an operation',
    message: 'The privileged helper accepts a change only where the OOBE, the end state or the item it is made for puts things, with the modes those places allow (the list is in the architecture guide); this request was outside them.',
    remedy: 'Collect the logs and send them to your administrator. An item that needs another place changed needs a script item, which the service must assign.',
  },
  {
    code: 'HELPER_CONFIG_INVALID',
    origin: 'helper', exit: 1, retryable: false,
    title: 'The device setup helper is not configured',
    message: 'selfdeploy-helper could not use its configuration (/etc/selfdeploy/helper.json): the file is missing or malformed, a group it names does not exist, or it is not running as root.',
    remedy: 'Fix the file as the message says (docs/operations.md#the-privileged-helper lists every setting) and restart selfdeploy-helper.',
  },
  {
    code: 'KIOSK_CONFIG_INVALID',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The kiosk settings cannot be used',
    message: 'The kiosk browser could not use its settings (/etc/selfdeploy/kiosk.json, written by device setup): the file is missing or malformed, or the kiosk is not a browser or signage kiosk.',
    remedy: 'Run device setup again (selfdeploy reset, then deploy) so it writes the profile’s kiosk settings; check the kiosk end state of the profile in the service.',
  },
  {
    code: 'DIRECTORY_CLIENT_MISSING',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The device cannot sign directory members in',
    message: "The profile's sign-in end state names a directory, and signing its members in needs SSSD with the directory's provider (LDAP or Active Directory), its NSS module and its PAM module installed on the device, and joining an Active Directory domain needs adcli; some of them are not.",
    remedy: 'Install what the message names (an LDAP directory: sssd-ldap, libnss-sss, libpam-sss; Active Directory: sssd-ad, libnss-sss, libpam-sss and adcli) in the device image, or assign them as an app item that the device gets before its policies and end state; then run device setup again.',
  },
  {
    code: 'DIRECTORY_JOIN_FAILED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The device could not join the domain',
    message: "The directory-join policy's join to Active Directory failed: adcli could not reach a domain controller, the join account or its password was refused, the account may not create computer accounts in the OU, or the device already belongs to a domain selfdeploy did not join it to (/etc/krb5.keytab exists).",
    remedy: "Read adcli's answer in the message. Check the policy's joinUser and joinPassword, that the account may join computers to its organizationalUnit, and that the device finds a domain controller (DNS SRV records of the domain, or the policy's domainController); a device joined elsewhere leaves that domain first. Then run device setup again.",
  },
  {
    code: 'KIOSK_BROWSER_FAILED',
    origin: 'agent', exit: 1, retryable: false,
    title: 'The kiosk browser could not run',
    message: 'The browser that shows the kiosk (Chromium where no Electron runs) is missing, could not start, or stopped.',
    remedy: 'Install it (apt-get install chromium) and check the kiosk session’s log; the kiosk session starts it again with backoff.',
  },
  {
    code: 'HELPER_REQUEST_INVALID',
    origin: 'helper', exit: 1, retryable: false,
    title: 'A malformed request reached the device setup helper',
    message: 'The request did not parse as one of the helper operations with valid arguments, or was larger than the helper accepts.',
    remedy: 'Make sure the agent and the helper come from the same selfdeploy version (reinstall the package); collect the logs if it repeats.',
  },
  {
    code: 'CONTENT_MISSING',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The item refers to content that is not uploaded',
    message: 'An app or script names content (by SHA-256) that the service does not hold, or whose size differs.',
    remedy: 'Upload the package first (selfdeploy-admin content upload FILE), then use the digest and size it prints.',
  },
  {
    code: 'RANGE_NOT_SATISFIABLE',
    origin: 'service', http: 416, exit: 1, retryable: false,
    title: 'The requested range is outside the content',
    message: 'The Range asked for starts beyond the end of the content.',
    remedy: 'Request a range within the size the service reports (Content-Range: bytes */SIZE).',
  },
  {
    code: 'MDM_NOT_ENROLLED',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'The device is not enrolled in management',
    message: 'The device asked for its assignments or reported progress before enrolling in management.',
    remedy: 'The agent registers for management first (the mdmEnroll endpoint); restart the setup so that it does.',
  },
  {
    code: 'VALIDATION_FAILED',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The request is not valid',
    message: 'Some fields of the request (or of the file or arguments a command sent) are missing or not valid.',
    remedy: 'Correct what is listed — a field of the request, a place in the file, or an argument of the command — and try again.',
  },
  {
    code: 'LINT_FAILED',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The deployment would not work',
    message: 'The profile, alone or with the policies that reach the same devices, has errors that would break the deployment.',
    remedy: 'Fix the findings listed (selfdeploy-admin profiles lint FILE shows them) and save or assign again.',
  },
  {
    code: 'BRANDING_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The branding is not valid',
    message: 'The logo must be a PNG, JPEG or SVG image of at most 512 KB (checked by its content), without scripts.',
    remedy: 'Export the logo again as PNG or plain SVG, smaller than 512 KB, and set it again.',
  },
  {
    code: 'TRUST_ANCHOR_INVALID',
    origin: 'service', http: 422, exit: 1, retryable: false,
    title: 'The trust anchor is not valid',
    message: 'A TPM trust anchor must be a PEM CA certificate that is currently valid, or a SHA-256 EK public digest.',
    remedy: "Use the TPM manufacturer's root or intermediate CA certificate in PEM form, or the digest `selfdeploy tpm info` prints.",
  },
  {
    code: 'NOT_FOUND',
    origin: 'service', http: 404, exit: 1, retryable: false,
    title: 'Not found',
    message: 'The resource does not exist (any more).',
    remedy: 'Check the name or id; list the resources to see what exists.',
  },
  {
    code: 'NAME_TAKEN',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'The name is taken',
    message: 'Another resource of this kind already has this name.',
    remedy: 'Choose another name, or update the existing resource.',
  },
  {
    code: 'IN_USE',
    origin: 'service', http: 409, exit: 1, retryable: false,
    title: 'Still in use',
    message: 'The resource is assigned or referenced, so it cannot be deleted or changed this way.',
    remedy: 'Remove its assignments first; the message says which.',
  },
  {
    code: 'UNAUTHORIZED',
    origin: 'service', http: 401, exit: 1, retryable: false,
    title: 'Authentication needed',
    message: 'The request carries no valid API token: none, an unknown one, or one that expired or was revoked.',
    remedy: 'Pass an API token (--token, SELFDEPLOY_TOKEN or the config file); ask an administrator for a new one if yours expired or was revoked (on the service host: selfdeploy-server token create).',
  },
  {
    code: 'FORBIDDEN',
    origin: 'service', http: 403, exit: 1, retryable: false,
    title: 'Not allowed with this token',
    message: "The API token's scope does not allow this operation, or the device is outside the groups and group tags the token is limited to.",
    remedy: 'Use a token whose scope allows it: technician tokens register devices, view, collect logs and delete device records; read-only tokens view and report; everything else needs an admin token. A token limited to groups or group tags cannot register a device outside them.',
  },
  {
    code: 'RATE_LIMITED',
    origin: 'service', http: 429, exit: 1, retryable: true,
    title: 'Too many requests',
    message: 'This client sent more requests than the service accepts in a short time.',
    remedy: 'Wait for the time the Retry-After header gives, then try again; the agent does this by itself.',
  },
  {
    code: 'PAYLOAD_TOO_LARGE',
    origin: 'service', http: 413, exit: 1, retryable: false,
    title: 'The request is too large',
    message: 'The request body exceeds what the service accepts for this operation.',
    remedy: 'Split the import into files of at most 10,000 devices, or use a smaller logo.',
  },
  {
    code: 'TENANT_NOT_INITIALIZED',
    origin: 'service', http: 503, exit: 1, retryable: true,
    title: 'The service is not set up',
    message: 'The deployment service has no tenant yet.',
    remedy: 'Run `selfdeploy-server init --data DIR --org NAME` once, then start the service.',
  },
  {
    code: 'SERVICE_NOT_READY',
    origin: 'service', http: 503, exit: 1, retryable: true,
    title: 'The service is not ready',
    message: "The service cannot take requests now: its database does not answer in time, holds another version's schema, or the service is stopping.",
    remedy: 'Wait and try again (a load balancer sends requests to a ready replica meanwhile). If it lasts, check that the database runs and is reachable, and that every replica runs the same version (selfdeploy-server migrate brings the database to it).',
  },
  {
    code: 'BACKUP_INVALID',
    origin: 'service', exit: 1, retryable: false,
    title: 'Not a usable backup',
    message: 'The file is not a selfdeploy-server backup, or it is damaged or incomplete.',
    remedy: 'Give the file `selfdeploy-server backup` wrote, copied whole (compare its size and checksum with the original).',
  },
  {
    code: 'BACKUP_NEWER_VERSION',
    origin: 'service', exit: 1, retryable: false,
    title: 'The backup is from a newer version',
    message: "The backup was made by a newer selfdeploy-server, whose database schema this version does not know.",
    remedy: 'Restore it with the version that made it (the message names it) or a later one; a service is never moved back to an older schema.',
  },
  {
    code: 'SERVICE_RUNNING',
    origin: 'service', exit: 1, retryable: true,
    title: 'The service is running',
    message: 'Another program — the service itself, most likely — has the database open, so it cannot be replaced now.',
    remedy: 'Stop the service (systemctl stop selfdeploy-server, or Ctrl-C where it runs) and every other program using the database, then restore again.',
  },
  {
    code: 'CONSOLE_NOT_BUILT',
    origin: 'service', http: 404, exit: 1, retryable: false,
    title: 'The web console is not built',
    message: 'This service was built without its web console, so /admin has nothing to show.',
    remedy: 'Build the service with npm run build (it builds the console into dist/renderer), or point the service at a built console; the admin API and selfdeploy-admin work without it.',
  },
  {
    code: 'SERVICE_CONFIG_INVALID',
    origin: 'service', http: 500, exit: 1, retryable: true,
    title: 'The service configuration is not valid',
    message: 'The data directory, database URL or certificate files given to the service are missing or not valid.',
    remedy: 'Check the paths and the --db URL (sqlite:PATH or postgres://…); `selfdeploy-server init` creates a data directory.',
  },
  {
    code: 'SERVICE_UNREACHABLE',
    origin: 'cli', exit: 3, retryable: true,
    title: 'The deployment service cannot be reached',
    message: 'No HTTPS connection to the service could be made, or its certificate is not the one trusted.',
    remedy: 'Check the server URL and that the service runs; pass the service CA it printed at init (--ca FILE, DIR/service-ca.pem).',
  },
  {
    code: 'SERVICE_RESPONSE_INVALID',
    origin: 'cli', exit: 1, retryable: false,
    title: 'Unexpected answer from the service',
    message: 'The deployment service answered with something this program does not understand.',
    remedy: 'Check that the agent or admin tool and the service are the same version; update the older one.',
  },
  {
    code: 'LISTEN_ADDRESS_IN_USE',
    origin: 'service', exit: 1, retryable: false,
    title: "The service's address is taken",
    message: 'Another program already listens on the address and port the service was told to listen on.',
    remedy: 'Stop the other program (`ss -ltnp` names it) or start the service on another address with --listen HOST:PORT.',
  },
  {
    code: 'TCTI_INVALID',
    origin: 'agent', exit: 2, retryable: false,
    title: 'The TPM connection string is not valid',
    message: 'The TCTI given names no TPM connection the TPM software stack can open, or its settings are malformed.',
    remedy:
      'Give --tcti as MODULE:SETTINGS, for example device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321, or leave it out to use the default search.',
  },
  {
    code: 'INPUT_FILE_UNREADABLE',
    origin: 'cli', exit: 1, retryable: false,
    title: 'A file cannot be read',
    message: 'A file named on the command line does not exist or cannot be opened.',
    remedy: 'Check the path (relative paths start in the current directory) and that this user may read the file.',
  },
  {
    code: 'OUTPUT_FILE_EXISTS',
    origin: 'cli', exit: 1, retryable: false,
    title: 'The file to write exists already',
    message: 'The command writes a new file and never overwrites one, and a file of that name is there.',
    remedy: 'Give a new file name, or move the existing file away first.',
  },
  {
    code: 'INPUT_FILE_INVALID',
    origin: 'cli', exit: 1, retryable: false,
    title: 'A file is not what the command expects',
    message: 'A file named on the command line was read, but its content is not in the form the command takes.',
    remedy: 'Fix the file at the place the message names (line and column, or field), or give the right file.',
  },
  {
    code: 'INTERNAL',
    origin: 'service', http: 500, exit: 1, retryable: true,
    title: 'Internal error',
    message: 'The service failed unexpectedly; the log has the details under the request id.',
    remedy: 'Try again. If it persists, send the service log entries with this request id to the operator.',
  },
  {
    code: 'AGENT_INTERNAL',
    origin: 'agent', exit: 70, retryable: false,
    title: 'The agent failed unexpectedly',
    message: 'The setup agent on this device hit an error it does not expect: a defect in the agent, not in the service or the profile.',
    remedy:
      'Try again; if it happens again, collect the logs (Collect logs, or the agent log in the state directory) and report them to the selfdeploy project.',
  },
  {
    code: 'CLI_INTERNAL',
    origin: 'cli', exit: 70, retryable: false,
    title: 'The command failed unexpectedly',
    message: 'The command hit an error it does not expect: a defect in the program, not in what it was given.',
    remedy: 'Run it again with SELFDEPLOY_DEBUG=1 for the stack trace, and report it to the selfdeploy project.',
  },
  {
    code: 'USAGE',
    origin: 'cli', exit: 2, retryable: false,
    title: 'Invalid command line',
    message: 'The command line is not one the program accepts.',
    remedy: 'Run the command with --help for its usage (every command and subcommand has its own).',
  },
] as const satisfies readonly CatalogueEntry[];

export type ErrorCode = (typeof entries)[number]['code'];

export type CatalogueItem = CatalogueEntry & { readonly code: ErrorCode };

export const CATALOGUE: ReadonlyMap<ErrorCode, CatalogueItem> = new Map(entries.map((e) => [e.code, e]));

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CATALOGUE.has(code as ErrorCode);
}

export function catalogueEntry(code: ErrorCode): CatalogueItem {
  return CATALOGUE.get(code)!;
}

/** The docs/errors.md heading anchor of a code (GitHub slugs keep underscores). */
export function docsAnchor(code: ErrorCode): string {
  return `errors.md#${code.toLowerCase()}`;
}
