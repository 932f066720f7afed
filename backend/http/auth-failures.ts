// Throttling guessed tokens: the admin API and the console's sign-in count failed token checks per
// client address.

/**
 * Failed admin-token checks per client address, in one-minute windows: past the limit, the address
 * is refused (429 with Retry-After) until its window ends — a guessed token gets few tries. Kept
 * in memory (each replica counts its own), at most 10,000 addresses.
 */
export class AuthFailures {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `address` may try again (0: now). */
  waitFor(address: string): number {
    const window = this.windows.get(address);
    if (!window) return 0;
    const left = window.start + 60_000 - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return window.count >= this.perMinute ? left : 0;
  }

  fail(address: string): void {
    const window = this.windows.get(address);
    if (window && this.now() - window.start < 60_000) window.count++;
    else {
      this.windows.delete(address);
      if (this.windows.size >= 10_000) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(address, { start: this.now(), count: 1 });
    }
  }
}
