/**
 * When a run writer's buffered metric points are written, for both tracking stores: a log call
 * more than FLUSH_INTERVAL_MS after the last write flushes at once (a trainer logging once per
 * epoch writes every epoch), as does a full buffer; bursts are coalesced and a timer flushes
 * what is left. Flushes are serialised, so batches are written in order.
 */
export const FLUSH_INTERVAL_MS = 50;

export class MetricFlusher {
  private lastFlush = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  /** `write` writes what is pending (nothing when empty) and, when it fails, keeps it pending in order. */
  constructor(private readonly write: () => Promise<void>) {}

  /** After points were buffered: flush now when due or `full`, else within the interval. */
  async added(full: boolean): Promise<void> {
    if (full || performance.now() - this.lastFlush >= FLUSH_INTERVAL_MS) {
      await this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush().catch(() => {
          // Retried by the next flush or by end(); the points stay pending.
        });
      }, FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Writes every pending point, after any flush already under way. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.lastFlush = performance.now();
      await this.write();
    };
    this.flushing = this.flushing.then(run, run);
    return this.flushing;
  }
}
