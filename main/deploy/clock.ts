// Time as the engine reads and waits for it: the system's on devices, a fake in unit tests of a step.

export interface ClockPort {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: ClockPort = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
