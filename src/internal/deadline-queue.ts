import { unrefTimer, type Timer } from './timers.js'

/** What the queue needs of a call, whatever its answer's type. */
interface Queued {
  readonly deadline: number
  readonly done: boolean
  next: Queued | undefined
  timeOut(error: Error): void
}

/**
 * One call waiting for its reply under a {@link DeadlineQueue}. Settle it with `resolve` or
 * `reject` when the reply comes; once its deadline has passed it has been rejected already, and
 * both do nothing (a late reply is dropped).
 *
 * @example
 * ```ts
 * const call = queue.open<number>()
 * send().then((reply) => call.resolve(reply), (error: unknown) => call.reject(error))
 * return call.promise
 * ```
 */
export class PendingCall<T> implements Queued {
  /** Settles once: with the reply, the call's error, or the timeout. */
  readonly promise: Promise<T>
  /** True once settled, by the reply or by the deadline. */
  done = false
  /** @internal When it times out, in `performance.now()` ms. */
  readonly deadline: number
  /** @internal The call opened after this one (deadlines are in the order calls were opened). */
  next: Queued | undefined = undefined
  #resolve!: (value: T) => void
  #reject!: (error: Error) => void
  readonly #queue: DeadlineQueue

  /** @internal Made by {@link DeadlineQueue.open}. */
  constructor(queue: DeadlineQueue, deadline: number) {
    this.#queue = queue
    this.deadline = deadline
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /** Answers with `value`, unless the call already timed out. */
  resolve(value: T): void {
    if (this.done) return
    this.done = true
    this.#resolve(value)
    this.#queue.shed()
  }

  /** Rejects with `error` (wrapped in an Error when it is not one), unless the call already timed out. */
  reject(error: unknown): void {
    if (this.done) return
    this.done = true
    this.#reject(error instanceof Error ? error : new Error(String(error)))
    this.#queue.shed()
  }

  /** @internal The deadline passed. */
  timeOut(error: Error): void {
    if (this.done) return
    this.done = true
    this.#reject(error)
  }
}

/**
 * Deadlines for calls that all share one timeout, with one timer for the whole queue instead of
 * a timer per call (withTimeout's). Every call gets the same `ms`, so deadlines come in the order
 * calls were opened: the timer only ever waits for the oldest unsettled call. Settled calls leave
 * the queue from its head; the timer, unref'd, lets a Node process exit (a pending call's socket
 * keeps it alive anyway).
 *
 * Same contract as `withTimeout`: every call settles by `ms` after it was opened, with
 * `keyward: <what> timed out after <ms> ms` if nothing came; a reply after that is dropped;
 * a rejection that is not an Error is wrapped in one.
 *
 * @example
 * ```ts
 * const queue = new DeadlineQueue(250, 'Redis rate limiter')
 * const call = queue.open<string>()
 * client.get(key).then((value) => call.resolve(value), (error: unknown) => call.reject(error))
 * await call.promise // rejects after 250 ms if Redis does not answer
 * ```
 */
export class DeadlineQueue {
  readonly #ms: number
  readonly #what: string
  #head: Queued | undefined = undefined
  #tail: Queued | undefined = undefined
  #timer: Timer | undefined = undefined
  /** The deadline the armed timer waits for. */
  #timerFor = 0
  readonly #expire = () => this.#onTimer()

  constructor(ms: number, what: string) {
    this.#ms = ms
    this.#what = what
  }

  /** A new pending call, rejected `ms` from now unless settled before. */
  open<T>(): PendingCall<T> {
    const now = performance.now()
    const call = new PendingCall<T>(this, now + this.#ms)
    if (this.#tail === undefined) this.#head = call
    else this.#tail.next = call
    this.#tail = call
    if (this.#timer === undefined) this.#arm(call.deadline, this.#ms)
    // A timer a whole timeout overdue is gone (fake timers uninstalled, a runtime that cancelled
    // it): without a new one, no call would ever time out again. Armed afresh for the oldest call.
    else if (now > this.#timerFor + this.#ms) {
      clearTimeout(this.#timer)
      this.#arm(this.#head!.deadline, Math.max(0, this.#head!.deadline - now))
    }
    return call
  }

  /** `promise` under this queue's deadline: withTimeout's twin, sharing the queue's timer. */
  track<T>(promise: Promise<T>): Promise<T> {
    const call = this.open<T>()
    promise.then(
      (value) => call.resolve(value),
      (error: unknown) => call.reject(error),
    )
    return call.promise
  }

  /** @internal Drops settled calls from the head, so that settled calls are not kept until their deadline. */
  shed(): void {
    let call = this.#head
    while (call !== undefined && call.done) call = call.next
    this.#head = call
    if (call === undefined) this.#tail = undefined
  }

  #arm(deadline: number, delay: number): void {
    this.#timerFor = deadline
    this.#timer = setTimeout(this.#expire, delay)
    unrefTimer(this.#timer)
  }

  #onTimer(): void {
    this.#timer = undefined
    // The timer firing is itself proof that its deadline passed, even where performance.now() is
    // frozen or faked apart from timers; calls opened later have later (or equal) deadlines.
    const now = Math.max(performance.now(), this.#timerFor)
    let call = this.#head
    while (call !== undefined && call.deadline <= now) {
      // An Error of its own per call: callers may annotate what they are given.
      if (!call.done) call.timeOut(new Error(`keyward: ${this.#what} timed out after ${this.#ms} ms`))
      call = call.next
    }
    this.#head = call
    if (call === undefined) this.#tail = undefined
    else this.#arm(call.deadline, call.deadline - now)
  }
}
