// What every step of the self-deploy gets (steps/): the engine's ports, the run's progress (ESP
// and journal), the service session (deadline, waiting, token) and status reports, and what the
// run has learnt so far (the profile, the assignments, this run's attestation).
import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { StepId } from '../../protocol/esp.js';
import type { AssignedItem } from '../../protocol/items.js';
import type { Attestation, EnrollmentResult } from '../enrollment/enroll.js';
import type { ClockPort } from './clock.js';
import type { EngineOptions } from './ports.js';
import type { EspProgress } from './progress.js';
import type { ServiceSession } from './session.js';
import type { StatusReports } from './status.js';

/** What the run has learnt so far, for the steps after. */
export interface RunState {
  profile?: DeployProfileResponse;
  assigned?: AssignedItem[];
  /** The device's primary user, with the assignments (null: none is set). */
  primaryUser?: string | null;
  /** This run's attestation, for the join (a resumed run attests again). */
  attestation?: Attestation;
  /** The enrollment an earlier run left, when it still holds: nothing is attested or joined again. */
  reused?: EnrollmentResult;
}

export interface StepContext {
  options: EngineOptions & { clock: ClockPort; log: NonNullable<EngineOptions['log']> };
  progress: EspProgress;
  session: ServiceSession;
  status: StatusReports;
  run: RunState;
}

export type StepResult =
  | { state: 'succeeded' | 'skipped'; detail: string | null }
  | { restart: { version: string; entry: string } }
  /** The distribution's updates need the device restarted: the step finishes after the restart. */
  | { reboot: { reason: string; restarting: boolean } };

export interface Step {
  readonly id: StepId;
  /** Work before the step shows as started: what it will show (the device setup items). */
  prepare?(context: StepContext): Promise<void>;
  run(context: StepContext): Promise<StepResult>;
}

/** The deployment profile, which every step after the profile step has. */
export function profileOf(context: StepContext): DeployProfileResponse {
  if (!context.run.profile) throw new Error('no deployment profile yet: the profile step runs first');
  return context.run.profile;
}
