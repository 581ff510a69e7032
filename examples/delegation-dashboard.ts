/**
 * A dashboard where org admins create project-scoped keys without choosing scopes: keyward's
 * management routes behind a write policy. docs/delegation.md shows this file (with the adapter
 * imported as `keyward/express`); test/docs/delegation.test.ts keeps the two identical and runs it.
 */
import express, { type Express } from 'express'
import {
  createKeyward,
  KeywardError,
  type AuthContext,
  type FieldIssue,
  type Keyward,
  type ManagementWrite,
  type WritePolicy,
} from 'keyward'
import { managementRouter } from '../adapters/express.js'

/** The app's own data: which projects each organization has (your database in production). */
export interface ProjectDirectory {
  projectsOf(org: string): Promise<readonly string[]>
}

// What a dashboard user may set. Scopes, origins, quotas and metadata are the product's call.
const CREATE_FIELDS = ['name', 'description', 'projects', 'expiresAt']
// "You cannot rename a key": the name is fixed at creation.
const UPDATE_FIELDS = ['description', 'projects', 'expiresAt']

/** The write policy: allow-listed fields, projects checked against the org, fixed scopes. */
export function dashboardPolicy(directory: ProjectDirectory): WritePolicy {
  return async ({ action, auth, input }: ManagementWrite) => {
    // A rotated key keeps working for a day, unless the caller asks otherwise.
    if (action === 'keys.rotate') return { gracePeriodMs: 24 * 3_600_000, ...input }
    const allowed = action === 'keys.create' ? CREATE_FIELDS : UPDATE_FIELDS
    const errors: FieldIssue[] = []
    for (const field of Object.keys(input)) {
      if (!allowed.includes(field))
        errors.push({ field, message: field === 'name' ? 'cannot be changed: a key keeps its name' : 'cannot be set from the dashboard' })
    }
    if (Array.isArray(input.projects)) {
      const known = await directory.projectsOf(auth.org)
      input.projects.forEach((project: unknown, i) => {
        if (typeof project !== 'string' || !known.includes(project))
          errors.push({ field: `projects[${i}]`, message: 'no such project in your organization' })
      })
    }
    if (errors.length > 0) throw new KeywardError('validation_failed', { message: 'Invalid key input', errors })
    // Dashboard keys call the API; they never manage keys. The grant ceiling still checks that
    // the admin holds `write` (admin implies it).
    return action === 'keys.create'
      ? { ...input, scopes: ['write'], metadata: { createdBy: auth.subject ?? auth.keyId ?? 'unknown' } }
      : undefined
  }
}

/** The dashboard's key routes under /dashboard/keys, for org admins signed in with a JWT. */
export function createDashboardApp(kw: Keyward, directory: ProjectDirectory): Express {
  const app = express()
  // Org admins hold a JWT with the `admin` scope and no project list: a token without one grants
  // no project, so the app answers which projects its user holds (here every project of the org,
  // from its own data). The policy checks the same list to name a bad project field by field.
  const callerProjects = (auth: AuthContext) => directory.projectsOf(auth.org)
  app.use('/dashboard', managementRouter(kw, { scope: 'admin', policy: dashboardPolicy(directory), callerProjects }))
  return app
}

/** keyward issuing the dashboard's own sign-in tokens (HS256 with a secret of at least 32 bytes). */
export function createDashboardKeyward(secret: string): Keyward {
  return createKeyward({
    prefix: 'bsk',
    jwt: { issuer: 'https://dashboard.example', audience: 'bytestack-api', signingKey: { alg: 'HS256', secret } },
  })
}
