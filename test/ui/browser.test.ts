/**
 * `<keyward-keys>` in a real browser (Debian's Chromium, driven by playwright-core) against each
 * framework's management routes over real HTTP. The page is the host app's: it loads the
 * component from `<mount>/ui/keyward-keys.js` and hands it the admin's token through
 * `getToken`. Per framework: create (client-side and server-side field errors first) → the key
 * shown once and gone from the DOM after → it authenticates a real request → the list shows it
 * with its last use → rotate with a grace period → revoke → the key is refused. Once (Express):
 * edit (only changed fields sent, server field errors, keyward-updated, several rate-limit
 * rules left alone, unreadable numbers refused; no Edit without keys.update, nor Edit or Rotate
 * on a key of another environment or beyond the caller's grant: scopes, projects, expiry, places),
 * hostile names/descriptions/metadata (XSS), keyboard use, pagination, and axe-core.
 * In CI (CI=true) a missing Chromium fails the run; locally it is skipped loudly.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryTokenStore, type Keyward, type ManagementOptions } from 'keyward'
import { CI } from '../support/servers.js'
import { UI_APPS } from './apps.js'

const CHROMIUM = '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
if (!present && !CI) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! ${CHROMIUM} is missing: the <keyward-keys> browser tests are SKIPPED.\n` +
      `!! Install it (apt-get install -y chromium). In CI (CI=true) this is a failure.\n${'!'.repeat(78)}\n`,
  )
}
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const CSRF = 'x-keyward-csrf'

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Settings · API keys</title></head>
<body><main><h1>Settings</h1><keyward-keys base-url="/admin" page-size="5"></keyward-keys></main>
<script type="module">
  // The host page owns the token: set before the component's module defines the element.
  document.querySelector('keyward-keys').getToken = () => window.adminToken
  await import('/admin/ui/keyward-keys.js')
</script></body></html>`

const HOSTILE = {
  name: '<img src=x onerror="window.pwned=1">',
  description: '"><script>window.pwned=2</script>',
  metadata: { note: '<svg onload="window.pwned=3">', html: '</code><b onclick="window.pwned=4">x</b>' },
}

async function ping(url: string, key: string): Promise<number> {
  return (await fetch(`${url}/api/ping`, { headers: { authorization: `Bearer ${key}` } })).status
}

/** Everything in the page a secret could hide in: markup of the page and the component, input values, storage. */
async function pageHolds(page: Page, secret: string): Promise<boolean> {
  return page.evaluate((s) => {
    const el = document.querySelector('keyward-keys')!
    const root = el.shadowRoot!
    const values = [...root.querySelectorAll('input, textarea')].map((i) => (i as HTMLInputElement).value)
    const storage = JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie
    return [document.documentElement.outerHTML, root.innerHTML, storage, ...values].some((text) => text.includes(s))
  }, secret)
}

function shadow(page: Page) {
  return page.locator('keyward-keys')
}

describe('Chromium installed for the <keyward-keys> tests', () => {
  it.runIf(CI)(`${CHROMIUM} exists (required in CI)`, () => {
    expect(present, `${CHROMIUM} must exist in CI: .ci/run installs it with apt`).toBe(true)
  })
})

describe.skipIf(!present)('<keyward-keys> in Chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })

  async function open(kw: Keyward, start: (typeof UI_APPS)[number][1], adminKey: string, options: ManagementOptions = {}) {
    const app = await start(kw, { ...options, csrfHeader: CSRF })
    const context: BrowserContext = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url })
    const page = await context.newPage()
    const logs: string[] = []
    page.on('console', (message) => logs.push(message.text()))
    page.on('pageerror', (error) => logs.push(String(error)))
    await page.route(`${app.url}/`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: PAGE }))
    await page.addInitScript((token) => void ((window as unknown as { adminToken: string }).adminToken = token), adminKey)
    await page.goto(`${app.url}/`)
    return {
      app,
      page,
      logs,
      close: async () => {
        await context.close()
        await app.close()
      },
    }
  }

  function freshKeyward(): Keyward {
    // Last uses are written on kw.flushUsage() (the test calls it), not on a timer.
    return createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), usageFlushMs: 3_600_000 })
  }

  async function adminOf(kw: Keyward): Promise<string> {
    const { key } = await kw.keys.create({ name: 'Org admin', orgId: 'org_1', projects: ['site-a', 'site-b'], scopes: ['admin'] })
    return key
  }

  for (const [name, start] of UI_APPS) {
    it(`${name}: create → shown once → authenticates → listed with last use → rotate → revoke → refused`, async () => {
      const kw = freshKeyward()
      const admin = await adminOf(kw)
      const { app, page, logs, close } = await open(kw, start, admin)
      try {
        const ui = shadow(page)
        await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(2) // header + the admin key

        // Create: the client checks first (no request), then the server's field error beside its field.
        await ui.getByRole('button', { name: 'Create key' }).click()
        const dialog = ui.getByRole('dialog', { name: 'Create an API key' })
        await dialog.getByRole('button', { name: 'Create key' }).click()
        await expect.poll(() => dialog.getByLabel('Name').getAttribute('aria-invalid')).toBe('true')
        expect(await dialog.getByText('Required.').count()).toBe(1)
        await dialog.getByLabel('Name').fill('Website')
        await dialog.getByRole('checkbox', { name: 'site-a' }).check()
        // Host bits set: well-formed for the client, refused by the server, shown beside the field.
        await dialog.getByLabel('Allowed IP addresses').fill('10.0.0.1/8')
        await dialog.getByRole('button', { name: 'Create key' }).click()
        await expect.poll(() => dialog.getByLabel('Allowed IP addresses').getAttribute('aria-invalid')).toBe('true')
        expect(await dialog.getByText(/host bits zero/).count()).toBe(1)
        expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
        await dialog.getByLabel('Allowed IP addresses').fill('')
        await dialog.getByRole('button', { name: 'Create key' }).click()

        // Shown once, with a copy button and the warning.
        const secret = ui.getByRole('dialog', { name: 'Your new API key' })
        await expect.poll(() => secret.getByText('you will not see it again').count()).toBe(1)
        const key = await secret.getByLabel('API key').inputValue()
        expect(key).toMatch(/^bsk_live_[0-9A-Za-z]{44}$/)
        await secret.getByRole('button', { name: 'Copy' }).click()
        await expect.poll(() => secret.getByText('Copied to the clipboard.').count()).toBe(1)
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
        await secret.getByRole('button', { name: 'I have copied it' }).click()
        await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
        // The dialog leaves the accessibility tree at once; its close event (which clears the field) comes a task later.
        await expect.poll(() => pageHolds(page, key)).toBe(false)

        // It authenticates a real request; after the usage flush the list shows its last use.
        expect(await ping(app.url, key)).toBe(200)
        await kw.flushUsage()
        await ui.getByRole('button', { name: 'Refresh' }).click()
        const row = ui.locator(`tr[data-key-id="${key.slice(9, 17)}"]`)
        await expect.poll(() => row.innerText(), { timeout: 10_000 }).not.toContain('Never used')
        expect(await row.innerText()).toContain('Website')
        expect(await row.innerText()).toContain('site-a')

        // Rotate with a one-hour grace period: both keys work meanwhile.
        await row.getByRole('button', { name: 'Rotate key Website' }).click()
        const rotate = ui.getByRole('dialog', { name: 'Rotate Website' })
        await rotate.getByLabel('Grace period').selectOption({ label: '1 hour' })
        await rotate.getByRole('button', { name: 'Rotate key' }).click()
        const second = ui.getByRole('dialog', { name: 'Your new API key' })
        const rotated = await second.getByLabel('API key').inputValue()
        expect(rotated).toMatch(/^bsk_live_/)
        expect(rotated).not.toBe(key)
        await page.keyboard.press('Escape')
        await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
        await expect.poll(() => pageHolds(page, rotated)).toBe(false)
        expect([await ping(app.url, key), await ping(app.url, rotated)]).toEqual([200, 200])
        const old = await kw.keys.get(key.slice(9, 17))
        expect(old!.expiresAt!.getTime() - Date.now()).toBeGreaterThan(50 * 60_000)
        expect(old!.expiresAt!.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000)

        // Revoke the new key, after a confirmation: refused from the next request.
        const newRow = ui.locator(`tr[data-key-id="${rotated.slice(9, 17)}"]`)
        await expect.poll(() => newRow.count(), { timeout: 10_000 }).toBe(1)
        await newRow.getByRole('button', { name: 'Revoke key Website' }).click()
        const confirm = ui.getByRole('dialog', { name: 'Revoke Website?' })
        await confirm.getByRole('button', { name: 'Revoke key' }).click()
        await expect.poll(() => newRow.innerText(), { timeout: 10_000 }).toContain('Revoked')
        expect(await ping(app.url, rotated)).toBe(401)

        // The routes refuse a call without the anti-CSRF header, whatever credential it carries.
        const forged = await page.evaluate(
          async (token) => (await fetch('/admin/keys', { headers: { authorization: `Bearer ${token}` } })).status,
          admin,
        )
        expect(forged).toBe(403)
        for (const secretKey of [key, rotated, admin]) expect(logs.join('\n')).not.toContain(secretKey)
      } finally {
        await close()
      }
    }, 60_000)
  }

  it("starts the create form from a restricted caller's place bounds, so the key it creates is within them", async () => {
    const kw = freshKeyward()
    // Held to this machine's address: the ceiling refuses it a key usable from anywhere.
    const { key: admin } = await kw.keys.create({
      name: 'Office admin',
      orgId: 'org_1',
      projects: ['site-a'],
      scopes: ['admin'],
      allowedIps: ['127.0.0.1'],
    })
    const { page, logs, close } = await open(kw, UI_APPS[0]![1], admin)
    try {
      const ui = shadow(page)
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(2)
      await ui.getByRole('button', { name: 'Create key' }).click()
      const dialog = ui.getByRole('dialog', { name: 'Create an API key' })
      expect(await dialog.getByLabel('Allowed IP addresses').inputValue()).toBe('127.0.0.1')
      await dialog.getByLabel('Name').fill('Office tool')
      await dialog.getByRole('button', { name: 'Create key' }).click()
      await expect.poll(() => ui.getByRole('dialog', { name: 'Your new API key' }).count()).toBe(1)
      const made = (await kw.keys.list({ orgId: 'org_1' })).find((k) => k.name === 'Office tool')
      expect(made?.allowedIps).toEqual(['127.0.0.1'])
      expect(logs.filter((line) => /error/i.test(line))).toEqual([])
    } finally {
      await close()
    }
  }, 60_000)

  it('edits a key: prefilled, only changed fields sent, server field errors beside the field, keyward-updated', async () => {
    const kw = freshKeyward()
    const admin = await adminOf(kw)
    // A ten-minute sliding window: not among the form's windows, and an algorithm the form has no field for.
    const rateLimit = { limit: 50, windowMs: 600_000, algorithm: 'sliding-window' as const }
    const { key } = await kw.keys.create({
      name: 'Website',
      description: 'Public site',
      orgId: 'org_1',
      projects: ['site-a'],
      scopes: ['read'],
      rateLimit,
    })
    const id = key.slice(9, 17)
    const { page, logs, close } = await open(kw, UI_APPS[0]![1], admin)
    try {
      const ui = shadow(page)
      const sent: unknown[] = []
      page.on('request', (request) => {
        if (request.method() === 'PATCH') sent.push(request.postDataJSON())
      })
      await page.evaluate(() => {
        const seen: unknown[] = ((window as unknown as { updated: unknown[] }).updated = [])
        document.addEventListener('keyward-updated', (event) => seen.push((event as CustomEvent).detail.key))
      })
      const row = ui.locator(`tr[data-key-id="${id}"]`)
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1)

      // The form opens on the key's values, the focus in its first field.
      await row.getByRole('button', { name: 'Edit key Website' }).click()
      const dialog = ui.getByRole('dialog', { name: 'Edit Website' })
      expect(await dialog.getByLabel('Name').inputValue()).toBe('Website')
      expect(await dialog.getByRole('checkbox', { name: 'site-a' }).isChecked()).toBe(true)
      expect(await dialog.getByRole('checkbox', { name: 'site-b' }).isChecked()).toBe(false)
      expect(await dialog.getByRole('checkbox', { name: 'read' }).isChecked()).toBe(true)
      expect(await dialog.getByLabel('Rate limit (requests)').inputValue()).toBe('50')
      expect(await dialog.getByLabel('per').inputValue()).toBe('600000')
      expect(await page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.activeElement?.getAttribute('name'))).toBe(
        'name',
      )

      // A client-side check first (no request), then the server's field error beside its field.
      await dialog.getByLabel('Name').fill('')
      await dialog.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => dialog.getByLabel('Name').getAttribute('aria-invalid')).toBe('true')
      await dialog.getByLabel('Name').fill('Website v2')
      await dialog.getByLabel('Allowed IP addresses').fill('10.0.0.1/8')
      await dialog.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => dialog.getByLabel('Allowed IP addresses').getAttribute('aria-invalid')).toBe('true')
      expect(await dialog.getByText(/host bits zero/).count()).toBe(1)
      expect(await dialog.getByLabel('Name').getAttribute('aria-invalid')).toBeNull()
      expect((await kw.keys.get(id))!.name).toBe('Website')
      expect(sent).toEqual([{ name: 'Website v2', allowedIps: ['10.0.0.1/8'] }])

      // Name and scopes changed: only they are sent; the list and kw.keys.get agree.
      await dialog.getByLabel('Allowed IP addresses').fill('')
      await dialog.getByRole('checkbox', { name: 'write' }).check()
      await dialog.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      await expect.poll(() => row.innerText(), { timeout: 10_000 }).toContain('Website v2')
      expect(await row.innerText()).toContain('write')
      expect(sent.at(-1)).toEqual({ name: 'Website v2', scopes: ['write', 'read'] })
      const stored = await kw.keys.get(id)
      expect(stored!.name).toBe('Website v2')
      expect([...stored!.scopes].sort()).toEqual(['read', 'write'])
      expect(stored!.allowedIps).toEqual([])
      expect(stored!.rateLimit).toEqual([expect.objectContaining(rateLimit)])
      const updated = await page.evaluate(() => (window as unknown as { updated: Array<Record<string, unknown>> }).updated)
      expect(updated.map((info) => [info.id, info.name])).toEqual([[id, 'Website v2']])
      expect(JSON.stringify(updated)).not.toContain(key)
      expect(await pageHolds(page, key)).toBe(false)

      // The limit changed: the rule is sent whole, its window and algorithm kept, and stored so.
      await row.getByRole('button', { name: 'Edit key Website v2' }).click()
      const again = ui.getByRole('dialog', { name: 'Edit Website v2' })
      await again.getByLabel('Rate limit (requests)').fill('60')
      await again.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      const changedRule = { limit: 60, windowMs: 600_000, algorithm: 'sliding-window' }
      expect(sent.at(-1)).toEqual({ rateLimit: changedRule })
      expect((await kw.keys.get(id))!.rateLimit).toEqual([changedRule])

      // The description emptied: sent as null, stored as null.
      await row.getByRole('button', { name: 'Edit key Website v2' }).click()
      const third = ui.getByRole('dialog', { name: 'Edit Website v2' })
      await third.getByLabel('Description').fill('')
      await third.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect(sent.at(-1)).toEqual({ description: null })
      expect((await kw.keys.get(id))!.description).toBeNull()

      // Unchanged and saved: no request at all.
      await expect.poll(() => sent.length).toBe(4)
      await row.getByRole('button', { name: 'Edit key Website v2' }).click()
      await ui.getByRole('dialog', { name: 'Edit Website v2' }).getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect(sent).toHaveLength(4)
      expect(logs.filter((line) => /error/i.test(line) && !/status of 400/.test(line))).toEqual([])
    } finally {
      await close()
    }
  }, 60_000)

  it('edit: several rules kept, unreadable numbers refused, a window without a rate unchanged, every server issue shown', async () => {
    const kw = freshKeyward()
    const admin = await adminOf(kw)
    const rules = [
      { limit: 10, windowMs: 1000 },
      { limit: 1000, windowMs: 86_400_000 },
    ]
    const { key: ruled } = await kw.keys.create({
      name: 'Two rules',
      orgId: 'org_1',
      projects: ['site-a'],
      scopes: ['read'],
      rateLimit: rules,
    })
    const { key: plain } = await kw.keys.create({ name: 'No rule', orgId: 'org_1', projects: ['site-a'], scopes: ['read'] })
    const { page, logs, close } = await open(kw, UI_APPS[0]![1], admin)
    try {
      const ui = shadow(page)
      const sent: unknown[] = []
      page.on('request', (request) => {
        if (request.method() === 'PATCH') sent.push(request.postDataJSON())
      })
      const ruledRow = ui.locator(`tr[data-key-id="${ruled.slice(9, 17)}"]`)
      const plainRow = ui.locator(`tr[data-key-id="${plain.slice(9, 17)}"]`)
      await expect.poll(() => plainRow.count(), { timeout: 10_000 }).toBe(1)

      // Several rules: the fields are disabled and empty (neither rule is "the" rule), the hint lists
      // the rules, and a name change sends the name alone.
      await ruledRow.getByRole('button', { name: 'Edit key Two rules' }).click()
      const several = ui.getByRole('dialog', { name: 'Edit Two rules' })
      expect(
        await several.getByText('This key has several rate limits (10 per second, 1,000 per day); change them with the API.').count(),
      ).toBe(1)
      expect(await several.getByLabel('Rate limit (requests)').isDisabled()).toBe(true)
      expect(await several.getByLabel('Rate limit (requests)').inputValue()).toBe('')
      expect(await several.getByLabel('per').isDisabled()).toBe(true)
      expect(await several.getByLabel('per').inputValue()).toBe('')
      await several.getByLabel('Name').fill('Two rules v2')
      await several.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect(sent).toEqual([{ name: 'Two rules v2' }])
      const kept = await kw.keys.get(ruled.slice(9, 17))
      expect(kept!.name).toBe('Two rules v2')
      expect(kept!.rateLimit).toEqual(rules.map((rule) => expect.objectContaining(rule)))
      expect(kept!.rateLimit).toHaveLength(2)

      // A window chosen with no rate: nothing changed, nothing sent.
      await plainRow.getByRole('button', { name: 'Edit key No rule' }).click()
      const plainForm = ui.getByRole('dialog', { name: 'Edit No rule' })
      await plainForm.getByLabel('per').selectOption({ label: 'minute' })
      await plainForm.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect(sent).toHaveLength(1)

      // A number the browser cannot read (value '') is a mistake beside its field, never "no limit".
      for (const typed of ['1e', '-']) {
        await plainRow.getByRole('button', { name: 'Edit key No rule' }).click()
        const form = ui.getByRole('dialog', { name: 'Edit No rule' })
        await form.getByLabel('Rate limit (requests)').pressSequentially(typed)
        expect(await form.getByLabel('Rate limit (requests)').inputValue()).toBe('')
        await form.getByRole('button', { name: 'Save changes' }).click()
        await expect.poll(() => form.getByLabel('Rate limit (requests)').getAttribute('aria-invalid')).toBe('true')
        expect(await form.getByText('A whole number from 1 to 1000000000.').count()).toBe(1)
        await page.keyboard.press('Escape')
        await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      }
      // The same on the create form.
      await ui.getByRole('button', { name: 'Create key' }).click()
      const create = ui.getByRole('dialog', { name: 'Create an API key' })
      await create.getByLabel('Name').fill('Typo')
      await create.getByRole('checkbox', { name: 'site-a' }).check()
      await create.getByLabel('Rate limit (requests)').pressSequentially('1e')
      await create.getByRole('button', { name: 'Create key' }).click()
      await expect.poll(() => create.getByLabel('Rate limit (requests)').getAttribute('aria-invalid')).toBe('true')
      await page.keyboard.press('Escape')
      expect(sent).toHaveLength(1)
      expect((await kw.keys.list({ orgId: 'org_1' })).map((k) => k.name)).not.toContain('Typo')
      expect((await kw.keys.get(plain.slice(9, 17)))!.rateLimit).toEqual([])

      // A server issue about a field the form lacks is shown in the form's error, beside the one it has.
      await page.route('**/admin/keys/*', (route) =>
        route.request().method() === 'PATCH'
          ? route.fulfill({
              status: 400,
              contentType: 'application/problem+json',
              body: JSON.stringify({
                detail: 'Invalid input',
                errors: [
                  { field: 'name', message: 'is taken' },
                  { field: 'metadata.team', message: 'is too long' },
                ],
              }),
            })
          : route.fallback(),
      )
      await plainRow.getByRole('button', { name: 'Edit key No rule' }).click()
      const refused = ui.getByRole('dialog', { name: 'Edit No rule' })
      await refused.getByLabel('Name').fill('Taken')
      await refused.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => refused.getByLabel('Name').getAttribute('aria-invalid')).toBe('true')
      expect(await refused.getByText('is taken').count()).toBe(1)
      expect(await refused.getByRole('alert').first().innerText()).toBe(
        'Please correct the fields marked below. metadata.team: is too long',
      )
      await page.keyboard.press('Escape')
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)

      // No issue about a field the form shows: the server's detail, then every issue, as text.
      const hostile = '<img src=x onerror="window.pwned=1">'
      await page.unroute('**/admin/keys/*')
      await page.route('**/admin/keys/*', (route) =>
        route.request().method() === 'PATCH'
          ? route.fulfill({
              status: 400,
              contentType: 'application/problem+json',
              body: JSON.stringify({
                detail: 'Invalid input',
                errors: [
                  { field: 'metadata.team', message: hostile },
                  { field: hostile, message: 'is unknown' },
                ],
              }),
            })
          : route.fallback(),
      )
      await plainRow.getByRole('button', { name: 'Edit key No rule' }).click()
      const unmatched = ui.getByRole('dialog', { name: 'Edit No rule' })
      await unmatched.getByLabel('Name').fill('Elsewhere')
      await unmatched.getByRole('button', { name: 'Save changes' }).click()
      const formError = unmatched.getByRole('alert').first()
      await expect.poll(() => formError.textContent()).toBe(`Invalid input metadata.team: ${hostile}; ${hostile}: is unknown`)
      expect(await unmatched.getByLabel('Name').getAttribute('aria-invalid')).toBeNull()
      const markup = await page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.innerHTML)
      expect(markup).not.toContain('<img')
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()
      expect(logs.filter((line) => /error/i.test(line) && !/status of 400/.test(line))).toEqual([])
    } finally {
      await close()
    }
  }, 60_000)

  it('shows Edit only on keys within what the caller may grant', async () => {
    const kw = freshKeyward()
    // A manager that holds read only: the server refuses it any change to a key holding more.
    const { key: manager } = await kw.keys.create({
      name: 'Manager',
      orgId: 'org_1',
      projects: ['site-a'],
      scopes: ['keys:manage', 'read'],
    })
    const { key: writer } = await kw.keys.create({ name: 'Writer', orgId: 'org_1', projects: ['site-a'], scopes: ['write'] })
    const { key: other } = await kw.keys.create({ name: 'Other site', orgId: 'org_1', projects: ['site-b'], scopes: ['read'] })
    const { key: forever } = await kw.keys.create({ name: 'Reader', orgId: 'org_1', projects: ['site-a'], scopes: ['read'] })
    // Within the scopes and projects, but of the test environment: the server changes only the caller's (live).
    const { key: tester } = await kw.keys.create({
      name: 'Tester',
      orgId: 'org_1',
      projects: ['site-a'],
      scopes: ['read'],
      environment: 'test',
    })
    const { page, close } = await open(kw, UI_APPS[0]![1], manager, { scope: 'keys:manage' })
    try {
      const ui = shadow(page)
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(6)
      const rowOf = (key: string) => ui.locator(`tr[data-key-id="${key.slice(9, 17)}"]`)
      // Beyond the grant: neither Edit nor Rotate (the server refuses both); Revoke stays.
      for (const [key, label] of [
        [writer, 'Writer'],
        [other, 'Other site'],
        [tester, 'Tester'],
      ] as const) {
        expect(
          await rowOf(key)
            .getByRole('button', { name: /^(Edit|Rotate)/ })
            .count(),
          label,
        ).toBe(0)
        expect(
          await rowOf(key)
            .getByRole('button', { name: `Revoke key ${label}` })
            .count(),
          label,
        ).toBe(1)
      }
      expect(await rowOf(forever).getByRole('button', { name: 'Rotate key Reader' }).count()).toBe(1)
      // The server agrees: a PATCH of the name and a rotation of each are refused.
      const call = (method: string, path: string, body: unknown) =>
        page.evaluate(
          async ([token, method, path, body]) =>
            (
              await fetch(`/admin/keys/${path}`, {
                method,
                headers: { authorization: `Bearer ${token}`, 'x-keyward-csrf': '1', 'content-type': 'application/json' },
                body: JSON.stringify(body),
              })
            ).status,
          [manager, method, path, body] as const,
        )
      for (const key of [writer, tester]) {
        expect(await call('PATCH', key.slice(9, 17), { name: 'Renamed' })).toBe(403)
        expect(await call('POST', `${key.slice(9, 17)}/rotate`, {})).toBe(403)
      }
      // A key within the grant is edited.
      await rowOf(forever).getByRole('button', { name: 'Edit key Reader' }).click()
      const dialog = ui.getByRole('dialog', { name: 'Edit Reader' })
      await dialog.getByLabel('Name').fill('Reader v2')
      await dialog.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect((await kw.keys.get(forever.slice(9, 17)))!.name).toBe('Reader v2')
    } finally {
      await close()
    }
  }, 60_000)

  it('shows Edit and Rotate to an expiring caller only on keys expiring no later than itself', async () => {
    const kw = freshKeyward()
    const day = 86_400_000
    const grant = { orgId: 'org_1', projects: ['site-a'], scopes: ['read'] }
    const { key: manager } = await kw.keys.create({
      ...grant,
      name: 'Manager',
      scopes: ['keys:manage', 'read'],
      expiresAt: new Date(Date.now() + 30 * day),
    })
    const { key: never } = await kw.keys.create({ ...grant, name: 'Never expires' })
    const { key: later } = await kw.keys.create({ ...grant, name: 'Expires later', expiresAt: new Date(Date.now() + 60 * day) })
    const { key: sooner } = await kw.keys.create({ ...grant, name: 'Expires sooner', expiresAt: new Date(Date.now() + 10 * day) })
    const { page, close } = await open(kw, UI_APPS[0]![1], manager, { scope: 'keys:manage' })
    try {
      const ui = shadow(page)
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(5)
      const buttons = (key: string) => ui.locator(`tr[data-key-id="${key.slice(9, 17)}"]`).getByRole('button', { name: /^(Edit|Rotate)/ })
      expect(await buttons(never).count()).toBe(0)
      expect(await buttons(later).count()).toBe(0)
      expect(await buttons(sooner).allInnerTexts()).toEqual(['Edit', 'Rotate'])
      // The server agrees: the key expiring later cannot be renamed, the one expiring sooner can.
      const rename = (key: string) =>
        page.evaluate(
          async ([token, id]) =>
            (
              await fetch(`/admin/keys/${id}`, {
                method: 'PATCH',
                headers: { authorization: `Bearer ${token}`, 'x-keyward-csrf': '1', 'content-type': 'application/json' },
                body: JSON.stringify({ name: 'Renamed' }),
              })
            ).status,
          [manager, key.slice(9, 17)],
        )
      expect([await rename(never), await rename(later), await rename(sooner)]).toEqual([403, 403, 200])
    } finally {
      await close()
    }
  }, 60_000)

  it('shows Edit and Rotate to a caller held to addresses only on keys within its lists', async () => {
    const kw = freshKeyward()
    const grant = { orgId: 'org_1', projects: ['site-a'], scopes: ['read'] }
    // Held to this machine's address (the browser's requests come from it) and a network.
    const { key: manager } = await kw.keys.create({
      ...grant,
      name: 'Office manager',
      scopes: ['keys:manage', 'read'],
      allowedIps: ['127.0.0.1', '10.0.0.0/8'],
    })
    const { key: anywhere } = await kw.keys.create({ ...grant, name: 'Anywhere' })
    const { key: within } = await kw.keys.create({ ...grant, name: 'Office', allowedIps: ['10.0.0.0/8'] })
    const { key: outside } = await kw.keys.create({ ...grant, name: 'Elsewhere', allowedIps: ['192.168.0.0/16'] })
    const { key: origins } = await kw.keys.create({ ...grant, name: 'Origins', allowedIps: ['127.0.0.1'], allowedOrigins: ['example.com'] })
    const { page, close } = await open(kw, UI_APPS[0]![1], manager, { scope: 'keys:manage' })
    try {
      const ui = shadow(page)
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(6)
      const buttons = (key: string) => ui.locator(`tr[data-key-id="${key.slice(9, 17)}"]`).getByRole('button', { name: /^(Edit|Rotate)/ })
      expect(await buttons(anywhere).count()).toBe(0)
      expect(await buttons(outside).count()).toBe(0)
      // Held to origins where the caller is not: no Edit (exact lists; see docs/ui.md).
      expect(await buttons(origins).count()).toBe(0)
      expect(await buttons(within).allInnerTexts()).toEqual(['Edit', 'Rotate'])
      await buttons(within).first().click()
      const dialog = ui.getByRole('dialog', { name: 'Edit Office' })
      await dialog.getByLabel('Name').fill('Office v2')
      await dialog.getByRole('button', { name: 'Save changes' }).click()
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect((await kw.keys.get(within.slice(9, 17)))!.name).toBe('Office v2')
    } finally {
      await close()
    }
  }, 60_000)

  it('shows no Edit button to a caller without keys.update', async () => {
    const kw = freshKeyward()
    const admin = await adminOf(kw)
    const authorize: ManagementOptions['authorize'] = (auth, action) => auth.scopes.includes('admin') && action !== 'keys.update'
    const { page, close } = await open(kw, UI_APPS[0]![1], admin, { authorize })
    try {
      const ui = shadow(page)
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(2)
      expect(await ui.getByRole('button', { name: 'Rotate key Org admin' }).count()).toBe(1)
      expect(await ui.getByRole('button', { name: /^Edit/ }).count()).toBe(0)
    } finally {
      await close()
    }
  }, 60_000)

  it('shows hostile names, descriptions and metadata as text, pages through keys, works from the keyboard, and passes axe', async () => {
    const kw = freshKeyward()
    const admin = await adminOf(kw)
    await kw.keys.create({ ...HOSTILE, orgId: 'org_1', projects: ['site-a'], scopes: ['read'] })
    for (let i = 0; i < 5; i++) await kw.keys.create({ name: `Key ${i}`, orgId: 'org_1', projects: ['site-b'], scopes: ['read'] })
    const { page, close } = await open(kw, UI_APPS[0]![1], admin)
    try {
      const ui = shadow(page)
      // Page 1 holds five of the seven keys (page-size 5), page 2 the other two.
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(6)
      await ui.getByRole('button', { name: 'Next' }).click()
      await expect.poll(() => ui.getByText('Page 2').count()).toBe(1)
      await expect.poll(() => ui.getByRole('row').count()).toBe(3)
      await ui.getByRole('button', { name: 'Previous' }).click()
      await expect.poll(() => ui.getByText('Page 1').count()).toBe(1)
      // The page label can change before the rows arrive: wait for the page's own rows too.
      await expect.poll(() => ui.getByRole('row').count()).toBe(6)
      const all = [...(await ui.locator('tbody').innerText()).split('\n')].join('\n')
      const next = await (async () => {
        await ui.getByRole('button', { name: 'Next' }).click()
        await expect.poll(() => ui.getByText('Page 2').count()).toBe(1)
        await expect.poll(() => ui.getByRole('row').count()).toBe(3)
        return ui.locator('tbody').innerText()
      })()
      const text = all + next
      expect(text).toContain(HOSTILE.name)
      expect(text).toContain(HOSTILE.description)
      expect(text).toContain(JSON.stringify(HOSTILE.metadata))
      const markup = await page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.innerHTML)
      expect(markup).not.toMatch(/<img|<svg|<script|<b /)
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()

      // Keyboard: Tab reaches "Create key", Enter opens the form with the focus in it, Escape closes it.
      await page.reload()
      await expect.poll(() => ui.getByRole('row').count(), { timeout: 10_000 }).toBe(6)
      const focused = () => page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.activeElement?.textContent ?? '')
      for (let i = 0; i < 5 && (await focused()) !== 'Create key'; i++) await page.keyboard.press('Tab')
      expect(await focused()).toBe('Create key')
      await page.keyboard.press('Enter')
      await expect.poll(() => ui.getByRole('dialog', { name: 'Create an API key' }).count()).toBe(1)
      expect(await page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.activeElement?.getAttribute('name'))).toBe(
        'name',
      )

      // axe-core over the page, the component's shadow root included: the list and the open form.
      await page.addScriptTag({ path: AXE })
      const violations = async () =>
        page.evaluate(async () => {
          type Axe = { run: (context: unknown) => Promise<{ violations: Array<{ id: string; impact: string }> }> }
          const axe = (window as unknown as { axe: Axe }).axe
          const result = await axe.run(document)
          return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)
        })
      expect(await violations()).toEqual([])
      await page.keyboard.press('Escape')
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      expect(await violations()).toEqual([])
      await page.evaluate(() => document.querySelector('keyward-keys')!.setAttribute('theme', 'dark'))
      expect(await violations()).toEqual([])
      // The edit form (the create form, prefilled) passes too.
      await ui
        .getByRole('button', { name: /^Edit key Key/ })
        .first()
        .click()
      await expect.poll(() => ui.getByRole('dialog', { name: /^Edit Key/ }).count()).toBe(1)
      expect(await violations()).toEqual([])
      await page.keyboard.press('Escape')
      await expect.poll(() => ui.getByRole('dialog').count()).toBe(0)
      // The check can fail: an unlabelled field put into the shadow root is found.
      await page.evaluate(() => document.querySelector('keyward-keys')!.shadowRoot!.append(document.createElement('input')))
      expect(await violations()).toContain('label')
    } finally {
      await close()
    }
  }, 60_000)
})
