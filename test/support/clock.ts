/** A clock tests move by hand, so nothing ever sleeps. */
export function manualClock(start = Date.UTC(2026, 10, 22, 12, 0, 0)) {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
    set(ms: number) {
      t = ms
    },
  }
}
