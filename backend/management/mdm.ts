// The service side of management: a joined device enrolls, fetches what is assigned to it,
// gets client certificates for keys in its TPM, reports its ESP, downloads content, completes its
// deployment and uploads logs. Every call is
// made with the device's access token, so the device is already known and trusted here.
import type { Readable } from 'node:stream';

import type { AssignmentsResponse, CheckInRequest, CheckInResponse, ClientCertificateRequest, ClientCertificateResponse, MdmEnrollRequest, MdmEnrollResponse, StatusRequest } from '../../protocol/api/mdm.js';
import { DIAGNOSTICS_MAX_BYTES } from '../../protocol/api/mdm.js';
import { PHASES, espSummary, findStep } from '../../protocol/esp.js';
import { assignedItems } from '../deployment/assignments.js';
import { failureOf } from '../store/deployments.js';
import { ServiceError } from '../errors.js';
import type { Store } from '../store/store.js';
import { signingCa, type IssuedCertificate, type SigningCa } from '../tenant/pki.js';
import { issueClientCertificate } from './client-certificates.js';

/** How often a joined device checks in (resources/systemd/selfdeploy-checkin.timer runs it hourly). */
export const CHECK_IN_INTERVAL_SECONDS = 3600;

/** Reads a request stream into memory, refusing more than `limit` bytes. */
export async function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new ServiceError('PAYLOAD_TOO_LARGE', `more than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class Management {
  /** The device CA, ready to sign: read once. */
  private readonly signer: SigningCa;

  constructor(
    private readonly store: Store,
    private readonly deviceCa: IssuedCertificate,
  ) {
    this.signer = signingCa(deviceCa);
  }

  private async device(deviceId: string) {
    const device = await this.store.devices.get(deviceId);
    if (!device) throw new ServiceError('DEVICE_REVOKED', 'the device record was deleted');
    return device;
  }

  private async requireEnrolled(deviceId: string) {
    const device = await this.device(deviceId);
    if (!(await this.store.management.enrollment(deviceId))) throw new ServiceError('MDM_NOT_ENROLLED', `device ${device.serial} has not enrolled in management`);
    return device;
  }

  /** POST /v1/mdm/enroll: idempotent, so a device that lost the answer can simply ask again. */
  async enroll(deviceId: string, request: MdmEnrollRequest): Promise<MdmEnrollResponse> {
    await this.device(deviceId);
    const enrollment = await this.store.management.enroll(deviceId, request);
    return { deviceId, enrolledAt: enrollment.enrolledAt, checkInIntervalSeconds: CHECK_IN_INTERVAL_SECONDS };
  }

  /** POST /v1/mdm/checkin: the contact is recorded; logs asked for are asked of the device; its primary user as it is now. */
  async checkIn(deviceId: string, _request: CheckInRequest): Promise<CheckInResponse> {
    await this.device(deviceId);
    const { logsRequestedAt, assignedUser } = await this.store.devices.checkIn(deviceId);
    return { deviceId, checkInIntervalSeconds: CHECK_IN_INTERVAL_SECONDS, collectLogs: logsRequestedAt ? { requestedAt: logsRequestedAt } : null, primaryUser: assignedUser };
  }

  /** GET /v1/mdm/assignments */
  async assignments(deviceId: string): Promise<AssignmentsResponse> {
    const device = await this.requireEnrolled(deviceId);
    return { deviceId, items: await assignedItems(this.store, device), generatedAt: new Date().toISOString(), primaryUser: device.assignedUser };
  }

  /**
   * GET /v1/content/{sha256}: whether the device may download this content — only an app's or a
   * script's assigned to it. Content that exists but is not the device's is answered exactly as
   * content that does not exist, so a device learns nothing of what others are given.
   */
  async requireAssignedContent(deviceId: string, sha256: string): Promise<void> {
    const device = await this.requireEnrolled(deviceId);
    const items = await assignedItems(this.store, device);
    if (!items.some((item) => (item.kind === 'app' || item.kind === 'script') && item.payload.content.sha256 === sha256)) {
      throw new ServiceError('NOT_FOUND', `content ${sha256} is not assigned to this device`);
    }
  }

  /** POST /v1/mdm/certificates/{itemId}: a client certificate for a new TPM key of the device. */
  async clientCertificate(deviceId: string, itemId: string, request: ClientCertificateRequest): Promise<ClientCertificateResponse> {
    const device = await this.requireEnrolled(deviceId);
    return issueClientCertificate({ store: this.store, signer: this.signer, chain: this.deviceCa.certificatePem, deviceId, itemId, assigned: await assignedItems(this.store, device), request });
  }

  /** POST /v1/mdm/status: the last snapshot wins by seq; each Device setup item's state is kept. */
  async status(deviceId: string, request: StatusRequest): Promise<{ accepted: boolean; seq: number }> {
    await this.requireEnrolled(deviceId);
    const { snapshot } = request;
    const items = PHASES['device-setup'].steps.flatMap((step) =>
      findStep(snapshot, step).items.map((item) => ({
        itemId: item.id,
        kind: item.kind,
        name: item.name,
        version: item.version,
        state: item.state,
        detail: item.detail,
        errorCode: item.error?.code ?? null,
      })),
    );
    const progress = { ...espSummary(snapshot), reportedAt: new Date().toISOString() };
    const accepted = await this.store.management.report(deviceId, snapshot, JSON.stringify(snapshot), JSON.stringify(progress), items);
    if (accepted) {
      // The history keeps each run; the device's state follows its latest: failed with why, or deploying again.
      await this.store.deployments.record(deviceId, snapshot);
      const failure = snapshot.status === 'failed' ? failureOf(snapshot) : null;
      if (failure) await this.store.devices.setFailed(deviceId, failure);
      else if (snapshot.status === 'running') await this.store.devices.setState(deviceId, 'deploying');
    }
    return { accepted, seq: snapshot.seq };
  }

  /** POST /v1/deploy/complete: deploying → deployed. Asking again after a lost answer is harmless. */
  async complete(deviceId: string): Promise<{ deviceId: string; state: 'deployed'; deployedAt: string }> {
    await this.requireEnrolled(deviceId);
    await this.store.devices.setState(deviceId, 'deployed');
    await this.store.deployments.complete(deviceId);
    const device = await this.device(deviceId);
    if (device.state !== 'deployed' || !device.deployedAt) throw new ServiceError('INTERNAL', `device ${device.serial} could not be marked deployed from ${device.state}`);
    return { deviceId, state: 'deployed', deployedAt: device.deployedAt };
  }

  /** POST /v1/diagnostics */
  async diagnostics(deviceId: string, body: Readable, mediaType: string) {
    await this.device(deviceId);
    const data = await readBounded(body, DIAGNOSTICS_MAX_BYTES);
    if (data.length === 0) throw new ServiceError('VALIDATION_FAILED', 'the log bundle is empty');
    if (mediaType === 'application/gzip' && !(data[0] === 0x1f && data[1] === 0x8b)) {
      throw new ServiceError('VALIDATION_FAILED', 'the body is not gzip data');
    }
    const info = await this.store.management.addDiagnostics(deviceId, data, mediaType);
    await this.store.devices.logsDelivered(deviceId, info.createdAt);
    return { id: info.id, size: info.size, sha256: info.sha256, receivedAt: info.createdAt };
  }
}
