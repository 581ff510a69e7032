/**
 * Where a key stands: revoked, expired, replaced by a rotation (its grace period still running),
 * or active.
 *
 * @example
 * ```ts
 * keyState({ revokedAt: null, expiresAt: null, rotatedTo: null }, Date.now()) // 'active'
 * ```
 */
export function keyState(
  key: { revokedAt: string | null; expiresAt: string | null; rotatedTo: string | null },
  now: number,
): 'active' | 'revoked' | 'expired' | 'rotated' {
  if (key.revokedAt !== null) return 'revoked'
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired'
  if (key.rotatedTo !== null) return 'rotated'
  return 'active'
}

/**
 * A date (with the time when `withTime`) in the page's language (the nearest `lang` attribute).
 *
 * @example
 * ```ts
 * formatDate('2026-11-30T10:00:00.000Z', 'en', true) // 'Nov 30, 2026, 10:00 AM'
 * ```
 */
export function formatDate(iso: string, lang: string | undefined, withTime = false): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  try {
    return new Intl.DateTimeFormat(lang, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(date)
  } catch {
    return date.toISOString()
  }
}
