import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeadlineQueue } from '../../src/internal/deadline-queue.js'

/** What a promise has settled to so far: 'pending', the value, or the error's message. */
function watch<T>(promise: Promise<T>): () => T | string {
  let state: T | string = 'pending'
  promise.then(
    (value) => (state = value),
    (error: Error) => (state = `error: ${error.message}`),
  )
  return () => state
}

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('rejects a call that never answers after exactly ms, not before', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    const state = watch(queue.open<number>().promise)
    await vi.advanceTimersByTimeAsync(99)
    expect(state()).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(state()).toBe('error: keyward: Test backend timed out after 100 ms')
  })

  it('drops a reply that comes after the deadline (and an error too)', async () => {
    const queue = new DeadlineQueue(50, 'Test backend')
    const late = queue.open<number>()
    const lateError = queue.open<number>()
    const states = [watch(late.promise), watch(lateError.promise)]
    await vi.advanceTimersByTimeAsync(50)
    late.resolve(7)
    lateError.reject(new Error('too late'))
    await vi.advanceTimersByTimeAsync(0)
    expect(states.map((state) => state())).toEqual(new Array(2).fill('error: keyward: Test backend timed out after 50 ms'))
  })

  it('times out each of many calls in flight at its own deadline, and never one that answered', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    const calls = []
    const states = []
    // Opened 10 ms apart, from 0 to 90 ms: deadlines at 100, 110, ..., 190 ms.
    for (let i = 0; i < 10; i++) {
      if (i > 0) await vi.advanceTimersByTimeAsync(10)
      const call = queue.open<number>()
      calls.push(call)
      states.push(watch(call.promise))
    }
    // Answered before their deadlines: the first (the queue's head) and one in the middle.
    calls[0]!.resolve(0)
    calls[4]!.resolve(4)
    await vi.advanceTimersByTimeAsync(10)
    // Now 100 ms: the call opened at 0 answered, none other due yet.
    expect(states.map((state) => state())).toEqual([0, 'pending', 'pending', 'pending', 4, ...new Array(5).fill('pending')])
    const timedOut = 'error: keyward: Test backend timed out after 100 ms'
    for (let i = 1; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(9)
      expect(states[i]!(), `call ${i} at ${100 + 10 * i - 1} ms`).toBe(i === 4 ? 4 : 'pending')
      await vi.advanceTimersByTimeAsync(1)
      expect(states[i]!(), `call ${i} at ${100 + 10 * i} ms`).toBe(i === 4 ? 4 : timedOut)
      // Later calls are still waiting.
      for (let j = i + 1; j < 10; j++) if (j !== 4) expect(states[j]!()).toBe('pending')
    }
  })

  it('arms the timer again for a call opened after the queue emptied', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    const first = queue.open<number>()
    first.resolve(1)
    await vi.advanceTimersByTimeAsync(60)
    const second = watch(queue.open<number>().promise)
    // The timer armed for the first call fires at 100 ms: the second's deadline is 160 ms.
    await vi.advanceTimersByTimeAsync(99)
    expect(second()).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(second()).toBe('error: keyward: Test backend timed out after 100 ms')
  })

  it('a timer lost while armed (fake timers cleared, a runtime that cancelled it) is replaced: calls still time out', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    queue.open<number>().resolve(1)
    // The armed timer never fires.
    vi.clearAllTimers()
    await vi.advanceTimersByTimeAsync(250)
    const call = watch(queue.open<number>().promise)
    await vi.advanceTimersByTimeAsync(99)
    expect(call()).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(call()).toBe('error: keyward: Test backend timed out after 100 ms')
  })

  it('settles once: the first answer wins, and a rejection that is not an Error is wrapped', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    const answered = queue.open<number>()
    answered.resolve(1)
    answered.resolve(2)
    answered.reject(new Error('no'))
    await expect(answered.promise).resolves.toBe(1)
    const failed = queue.open<number>()
    failed.reject('a string')
    const error = await failed.promise.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe('a string')
  })

  it('track() puts a promise under the queue deadline, as withTimeout does', async () => {
    const queue = new DeadlineQueue(100, 'Test backend')
    await expect(queue.track(Promise.resolve(5))).resolves.toBe(5)
    const never = watch(queue.track(new Promise<number>(() => {})))
    await vi.advanceTimersByTimeAsync(100)
    expect(never()).toBe('error: keyward: Test backend timed out after 100 ms')
    await expect(queue.track(Promise.reject(42))).rejects.toThrow('42')
  })
})
