import { plainObject } from '../keys/input.js'
import type { ManagementWrite, WritePolicy } from './types.js'

/**
 * Runs the app's write policy on a create, update or rotate and returns the input to use. A
 * policy's refusal (a thrown `KeywardError`) passes through; an answer that is neither undefined
 * nor a plain object is a bug in the policy, thrown as a TypeError so the handler answers 500
 * and stores nothing, rather than guess what the policy meant.
 *
 * @example
 * ```ts
 * const input = await applyWritePolicy(options.policy, { action: 'keys.create', auth, input: body })
 * ```
 */
export async function applyWritePolicy(policy: WritePolicy | undefined, write: ManagementWrite): Promise<Record<string, unknown>> {
  if (policy === undefined) return write.input
  const answer: unknown = await policy(write)
  if (answer === undefined) return write.input
  if (!plainObject(answer))
    throw new TypeError(
      `keyward: the management policy returned ${answer === null ? 'null' : typeof answer}; it must ` +
        'return the input to use (a plain object) or undefined',
    )
  return answer
}
