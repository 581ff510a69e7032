/**
 * Takes the screenshots docs/ui.md shows: the example app (examples/ui/server.ts) signed in, with
 * a few keys, in light and dark, and the new-key dialog. Chromium at /usr/bin/chromium, driven
 * by playwright-core. Run it after changing the component: `npx tsx scripts/ui-screenshots.ts`.
 */
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { start } from '../examples/ui/server.js'

const out = fileURLToPath(new URL('../docs/images/', import.meta.url))
const { kw, url, close } = await start(0)
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-sync'],
})
try {
  const org = 'org_acme'
  const day = 86_400_000
  const website = await kw.keys.create({
    name: 'Production website',
    description: 'Tracking snippet on acme.example',
    orgId: org,
    projects: ['website'],
    scopes: ['write'],
    allowedOrigins: ['acme.example', 'www.acme.example'],
  })
  await kw.keys.create({
    name: 'iOS app',
    orgId: org,
    projects: ['mobile-app'],
    scopes: ['read'],
    expiresAt: new Date(Date.now() + 90 * day),
  })
  const ci = await kw.keys.create({ name: 'CI deploys', orgId: org, projects: ['website', 'mobile-app'], scopes: ['write'] })
  await kw.keys.revoke(ci.info.id)
  await kw.verify({ headers: { authorization: `Bearer ${website.key}`, origin: 'https://acme.example' } })
  await kw.flushUsage()

  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 600 }, colorScheme: scheme, deviceScaleFactor: 1 })
    await page.goto(`${url}/`)
    await page.fill('input[name=username]', 'ada')
    await page.fill('input[name=password]', 'correct horse battery staple')
    await page.click('button')
    await page.locator('keyward-keys').getByRole('row').nth(3).waitFor()
    await page.screenshot({ path: `${out}ui-${scheme}.png` })
    if (scheme === 'dark') {
      await page.locator('keyward-keys').getByRole('button', { name: 'Create key' }).click()
      await page.setViewportSize({ width: 1440, height: 880 })
      await page.screenshot({ path: `${out}ui-create-${scheme}.png` })
    }
    await page.close()
  }
  console.log(`screenshots written to ${out}`)
} finally {
  await browser.close()
  await close()
}
