// "Registering your device for mobile management": MDM enrollment with the device's identity (its
// access token), the agent version, OS and host name. Idempotent on the service.
import type { Step } from '../context.js';

export const registeringStep: Step = {
  id: 'registering-mdm',
  async run(context) {
    const { api, agent } = context.options;
    const enrolled = await context.session.managed('registering for management', (token) => api.mdmEnroll(token, { agentVersion: agent.version, os: agent.os, hostname: agent.hostname }));
    return { state: 'succeeded', detail: `Enrolled ${enrolled.enrolledAt}` };
  },
};
