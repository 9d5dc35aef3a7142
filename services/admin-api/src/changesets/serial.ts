/**
 * Runs the commands of one stream one after another within this process. A session or changeset
 * stream takes many small commands at once (an edit per person, a decision per change): in turn,
 * they append without racing each other for the next revision, and the optimistic retry is left
 * for writers in other processes.
 */
export class PerStream {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(streamId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(streamId, tail);
    void tail.then(() => { if (this.tails.get(streamId) === tail) this.tails.delete(streamId); });
    return next;
  }
}
