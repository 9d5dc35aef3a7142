/**
 * Child process for embedded.crash.test.ts: appends under concurrent load and prints one line per
 * acknowledged event, `ACK <stream> <revision> <eventId>`, so the parent can kill -9 it at any moment
 * and check that every acknowledged event survived.
 *
 * usage: node --import tsx crash-writer.ts <dir> <padBytes> <workers>
 */
import { randomUUID } from 'node:crypto';
import { openEmbeddedEventStore } from '../embedded.ts';
import { WrongExpectedRevisionError, type NewEvent } from '../port.ts';
import { padFor } from './crash-payload.ts';

async function main(): Promise<void> {
  const [dir, padArg = '16', workersArg = '32'] = process.argv.slice(2);
  if (!dir) throw new Error('usage: crash-writer <dir> [padBytes] [workers]');
  const padBytes = Number(padArg);
  const store = await openEmbeddedEventStore({ dir });
  // Never outlive the parent.
  process.stdin.on('close', () => process.exit(3));
  process.stdin.resume();
  setTimeout(() => process.exit(4), 30_000).unref();
  process.stdout.write(`READY ${(await store.headPosition()) + 1}\n`);

  const makeEvent = (stream: string): NewEvent => {
    const eventId = randomUUID();
    return { eventId, type: 'Load', data: { eventId, stream, padLength: padBytes, pad: padFor(eventId, padBytes) }, metadata: { pid: process.pid } };
  };

  const worker = async (w: number) => {
    for (let k = 0; ; k++) {
      const stream = `crash-${(w * 7 + k) % 20}`;
      const events = Array.from({ length: 1 + (k % 3) }, () => makeEvent(stream));
      let result;
      if (k % 2 === 0) {
        result = await store.appendToStream(stream, events);
      } else {
        // optimistic concurrency with a retry, like a command handler would do
        for (;;) {
          const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
          try {
            result = await store.appendToStream(stream, events, { expectedRevision: last ? last.revision : 'no_stream' });
            break;
          } catch (err) {
            if (!(err instanceof WrongExpectedRevisionError)) throw err;
          }
        }
      }
      const first = result.nextExpectedRevision - events.length + 1;
      process.stdout.write(events.map((e, i) => `ACK ${stream} ${first + i} ${e.eventId}\n`).join(''));
    }
  };
  await Promise.all(Array.from({ length: Number(workersArg) }, (_, w) => worker(w)));
}

main().catch((err: unknown) => {
  process.stderr.write(`crash-writer failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(2);
});
