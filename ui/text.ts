/**
 * Every word `<keyward-keys>` shows, in English. Set the element's `text` property to a partial
 * object to translate or reword it; `{name}` and `{n}` are filled in at display time.
 *
 * @example
 * ```ts
 * document.querySelector('keyward-keys')!.text = { title: 'Clés API', create: 'Créer une clé' }
 * ```
 */
export const DEFAULT_TEXT = {
  title: 'API keys',
  create: 'Create key',
  refresh: 'Refresh',
  loading: 'Loading…',
  empty: 'No keys yet.',
  previous: 'Previous',
  next: 'Next',
  page: 'Page {n}',
  colName: 'Name',
  colPrefix: 'Key',
  colProjects: 'Projects',
  colScopes: 'Scopes',
  colRestrictions: 'Allowed origins and IPs',
  colCreated: 'Created',
  colLastUsed: 'Last used',
  colExpires: 'Expires',
  colState: 'State',
  colActions: 'Actions',
  anyOrigin: 'Anywhere',
  never: 'Never',
  neverUsed: 'Never used',
  stateActive: 'Active',
  stateRevoked: 'Revoked',
  stateExpired: 'Expired',
  stateRotated: 'Replaced',
  metadata: 'Metadata',
  rotate: 'Rotate',
  revoke: 'Revoke',
  edit: 'Edit',
  editLabel: 'Edit key {name}',
  rotateLabel: 'Rotate key {name}',
  revokeLabel: 'Revoke key {name}',
  cancel: 'Cancel',
  close: 'Close',
  createTitle: 'Create an API key',
  fieldName: 'Name',
  fieldDescription: 'Description',
  fieldProjects: 'Projects',
  fieldProjectsHint: 'Comma-separated project ids',
  fieldScopes: 'Scopes',
  fieldOrigins: 'Allowed origins',
  fieldOriginsHint: 'One hostname per line, e.g. example.com. Empty: any origin.',
  fieldIps: 'Allowed IP addresses',
  fieldIpsHint: 'One address or CIDR network per line. Empty: any address.',
  fieldRateLimit: 'Rate limit (requests)',
  fieldRateWindow: 'per',
  fieldRateSeveral: 'This key has several rate limits ({rules}); change them with the API.',
  rateRule: '{n} per {window}',
  perSecond: 'second',
  perMinute: 'minute',
  perHour: 'hour',
  perDay: 'day',
  perSeconds: '{n} seconds',
  fieldExpires: 'Expires on',
  fieldExpiresHint: 'Empty: never expires.',
  fieldExpiresMax: 'Must be no later than {date}.',
  submitCreate: 'Create key',
  editTitle: 'Edit {name}',
  submitEdit: 'Save changes',
  updated: 'Key {name} updated.',
  secretTitle: 'Your new API key',
  secretWarning: 'Copy it now: you will not see it again.',
  secretLabel: 'API key',
  copy: 'Copy',
  copied: 'Copied to the clipboard.',
  copyFailed: 'Could not copy: select the key and copy it yourself.',
  done: 'I have copied it',
  revokeTitle: 'Revoke {name}?',
  revokeWarning: 'Requests with this key will be refused at once. This cannot be undone.',
  revokeConfirm: 'Revoke key',
  revoked: 'Key {name} revoked.',
  rotateTitle: 'Rotate {name}',
  rotateWarning: 'A new key with the same settings replaces this one. The old key keeps working for the grace period.',
  fieldGrace: 'Grace period',
  graceNone: 'None: refuse the old key at once',
  graceHour: '1 hour',
  graceDay: '24 hours',
  graceWeek: '7 days',
  rotateConfirm: 'Rotate key',
  created: 'Key {name} created.',
  errRequired: 'Required.',
  errTooLong: 'At most {n} characters.',
  errControl: 'Must not contain control characters.',
  errProjects: 'Choose at least one project.',
  errScopes: 'Choose at least one scope.',
  errOrigin: 'Not a hostname: {name}',
  errIp: 'Not an IP address or CIDR network: {name}',
  errTooMany: 'At most {n} entries.',
  errRate: 'A whole number from 1 to 1000000000.',
  errFuture: 'Must be in the future.',
  errLater: 'Must be no later than {date}.',
  errForm: 'Please correct the fields marked below.',
  errSignIn: 'You are not signed in, or your session has ended.',
  errForbidden: 'You are not allowed to do this.',
  errUnavailable: 'The service is unavailable. Try again in a moment.',
  errNetwork: 'The server could not be reached.',
  errGeneric: 'Something went wrong ({n}).',
}

/**
 * The words of `<keyward-keys>`: every key of {@link DEFAULT_TEXT}.
 *
 * @example
 * ```ts
 * const french: Partial<KeywardKeysText> = { create: 'Créer une clé' }
 * ```
 */
export type KeywardKeysText = { [K in keyof typeof DEFAULT_TEXT]: string }

/** Fills `{name}`-style holes; the result is only ever set as text, never parsed as HTML. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (hole, name: string) => (name in values ? String(values[name]) : hole))
}
