/**
 * The `keyward` command's exit codes (README "Managing keys"): scripts branch on them.
 *
 * @example
 * ```ts
 * process.exitCode = EXIT.notFound
 * ```
 */
export const EXIT = Object.freeze({
  /** Done. */
  ok: 0,
  /** Bad command line: unknown command or flag, missing or malformed value, no store named. */
  usage: 1,
  /** The store refused: invalid key input (each bad field listed) or no such key. */
  rejected: 2,
  /** The store could not be reached or failed; nothing is known to have changed. */
  unavailable: 3,
})
