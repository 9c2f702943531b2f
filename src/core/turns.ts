/** One turn of the event loop: timers, I/O and other requests run before the work goes on. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Hands the event loop back once `slice` milliseconds of work have passed since the last turn: a long loop of
 * synchronous work (decodes, parses) then holds a server's other requests up for about a slice at a time.
 */
export class Turns {
  private since = performance.now();

  constructor(private readonly slice = 10) {}

  async take(): Promise<void> {
    if (performance.now() - this.since < this.slice) return;
    await nextTurn();
    this.since = performance.now();
  }
}
