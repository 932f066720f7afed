// One read for many readers: the console's event streams poll the database once a second each;
// streams that look at the same thing (the bench board in the same token scope, one device, one
// token's standing) share one read per poll period instead of making one each. A read is reused
// for at most `ttlMs` after it started (an answer never older than one poll), and a failed read
// is not kept.
export class SharedReads {
  private readonly reads = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const at = this.now();
    const kept = this.reads.get(key);
    if (kept && at - kept.at < this.ttlMs) return kept.value as Promise<T>;
    this.sweep(at);
    const value = load();
    this.reads.set(key, { at, value });
    value.catch(() => {
      if (this.reads.get(key)?.value === value) this.reads.delete(key);
    });
    return value;
  }

  /** How many reads are kept (tests). */
  get size(): number {
    return this.reads.size;
  }

  /** Forgets reads too old to be reused, so keys of streams that ended do not pile up. */
  private sweep(at: number): void {
    for (const [key, kept] of this.reads) if (at - kept.at >= this.ttlMs) this.reads.delete(key);
  }
}
