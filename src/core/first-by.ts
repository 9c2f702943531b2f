/**
 * The first `cap` of any number of items offered in any order, by a position, and how many were offered: what an
 * import keeps of its rejections (a file of millions of bad lines keeps a thousand, not millions).
 */
export class FirstBy<T> {
  /** Items offered, kept or not. */
  count = 0;
  private items: T[] = [];

  constructor(
    private readonly cap: number,
    private readonly position: (item: T) => number,
  ) {}

  add(item: T): void {
    this.count++;
    this.items.push(item);
    // Trimmed when twice the cap: each item is sorted a bounded number of times.
    if (this.items.length >= 2 * this.cap) this.trim();
  }

  /** The first `cap` items by position, in order. */
  list(): T[] {
    this.trim();
    return [...this.items];
  }

  private trim(): void {
    this.items.sort((a, b) => this.position(a) - this.position(b));
    if (this.items.length > this.cap) this.items.length = this.cap;
  }
}
