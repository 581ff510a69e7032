import type { Readable } from 'node:stream'
import { createInterface } from 'node:readline'

/** A message a test server process wrote as one JSON line on its stdout. */
export type ChildMessage = Record<string, unknown>

/**
 * Reads a child process's stdout as JSON lines and hands them out in order: `next(match)` resolves
 * with the first message from now on that matches, skipping the others; it rejects if the process
 * exits first. The test's own timeout bounds every wait: nothing here sleeps.
 */
export function jsonLines(child: { stdout: Readable }, exited: Promise<number | null>): { next(match: (m: ChildMessage) => boolean): Promise<ChildMessage> } {
  const inbox: ChildMessage[] = []
  let read = 0
  let check: () => void = () => {}
  createInterface({ input: child.stdout }).on('line', (line) => {
    inbox.push(JSON.parse(line) as ChildMessage)
    check()
  })
  return {
    next: (match) =>
      new Promise<ChildMessage>((resolve, reject) => {
        check = () => {
          while (read < inbox.length) {
            const message = inbox[read++]!
            if (match(message)) {
              // Uninstall at once: a line arriving before the next waiter (the NOTIFY can beat the
              // revoke's own continuation) must stay in the inbox, not be read past by this one.
              check = () => {}
              return resolve(message)
            }
          }
        }
        void exited.then((code) => reject(new Error(`the server process exited (${code})`)))
        check()
      }),
  }
}
