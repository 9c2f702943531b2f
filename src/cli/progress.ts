/** A one-line progress bar with rate and ETA on a terminal's stderr; silent elsewhere. */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly enabled: boolean;

  constructor(stream: NodeJS.WriteStream, private readonly label: string, enabled = true) {
    this.stream = stream;
    this.enabled = enabled && stream.isTTY === true;
  }

  /** `position`/`end` drive the bar and ETA (bytes of input, or items); `detail` is appended. */
  update(done: number, position: number, end: number | undefined, detail = ""): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && (end === undefined || position < end)) return;
    this.lastDraw = now;
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const rate = done / seconds;
    const fraction = end ? Math.min(position / end, 1) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = end ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%` : "";
    const eta = end && fraction > 0 ? ` ETA ${formatDuration((seconds / fraction) * (1 - fraction))}` : "";
    this.stream.write(`\r${this.label} ${bar} ${done} (${rate.toFixed(0)}/s)${eta} ${detail}\x1b[K`);
  }

  /** A line of what is being done now (in place of the bar, which the next update redraws). */
  note(text: string): void {
    if (!this.enabled) return;
    this.lastDraw = Date.now();
    this.stream.write(`\r${this.label}: ${text}\x1b[K`);
  }

  done(): void {
    if (this.enabled) this.stream.write("\n");
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
