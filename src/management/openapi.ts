import { LIST_PAGE } from './list-query.js'

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it) or any part of the document: plain JSON. */
type Json = { [key: string]: unknown }

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] })
const strings = (maxLength: number): Json => ({ type: 'array', items: { type: 'string', maxLength }, maxItems: 100 })
const dateTime: Json = { type: 'string', format: 'date-time' }

const rule: Json = {
  type: 'object',
  required: ['limit', 'windowMs'],
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1e9 },
    windowMs: { type: 'integer', minimum: 1000, multipleOf: 1000, description: 'Whole seconds, in ms, up to one year' },
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
    algorithm: {
      type: 'string',
      enum: ['gcra', 'fixed-window', 'sliding-window'],
      description: 'Default gcra; a sliding-window rule has a limit of at most 1000',
    },
  },
}

const MAX_CREDITS = 1e15
const refill: Json = {
  type: 'object',
  required: ['amount', 'intervalMs'],
  additionalProperties: false,
  description: 'Every intervalMs (intervals aligned to the epoch: a day is a UTC day) the balance is set to amount',
  properties: {
    amount: { type: 'integer', minimum: 0, maximum: MAX_CREDITS },
    intervalMs: { type: 'integer', minimum: 1000, maximum: 366 * 24 * 3_600_000 },
  },
}
const creditsSet: Json = {
  type: 'object',
  required: ['remaining'],
  additionalProperties: false,
  description: 'Usage credits: the balance to set (replacing the running one), and an optional refill',
  properties: { remaining: { type: 'integer', minimum: 0, maximum: MAX_CREDITS }, refill: nullable(refill) },
}
const creditsTopUp: Json = {
  type: 'object',
  required: ['add'],
  additionalProperties: false,
  description:
    'A top-up, added to the running balance atomically. Sent on its own: ' +
    'with any other field in the same update it is 400 validation_failed, nothing written',
  properties: { add: { type: 'integer', minimum: 1, maximum: MAX_CREDITS } },
}
const creditsNote = 'Refused 403 unless the management option credits is on'

const inputProperties: Json = {
  name: { type: 'string', minLength: 1, maxLength: 100 },
  description: nullable({ type: 'string', maxLength: 500 }),
  projects: { ...strings(128), minItems: 1 },
  scopes: { ...strings(64), minItems: 1 },
  allowedOrigins: strings(253),
  domain: { type: 'string', description: 'Legacy single origin; same as allowedOrigins: [domain]' },
  allowedIps: strings(49),
  rateLimit: { oneOf: [rule, { type: 'array', items: rule, maxItems: 5 }, { type: 'null' }] },
  expiresAt: { oneOf: [dateTime, { type: 'integer', description: 'epoch ms' }, { type: 'null' }] },
  metadata: { type: 'object', description: 'Plain JSON, at most 4 KiB serialized' },
}
const createProperties: Json = { ...inputProperties, credits: { oneOf: [creditsSet, { type: 'null' }], description: creditsNote } }
const updateProperties: Json = {
  ...inputProperties,
  credits: { oneOf: [creditsSet, creditsTopUp, { type: 'null' }], description: `${creditsNote}. null removes the key's credits` },
}

const keyInfo: Json = {
  type: 'object',
  required: [
    'id',
    'displayPrefix',
    'environment',
    'orgId',
    'name',
    'description',
    'projects',
    'scopes',
    'allowedOrigins',
    'allowedIps',
    'rateLimit',
    'metadata',
    'expiresAt',
    'createdAt',
    'updatedAt',
    'lastUsedAt',
    'revokedAt',
    'rotatedFrom',
    'rotatedTo',
    'credits',
  ],
  additionalProperties: false,
  description: 'A key without its secret or hash.',
  properties: {
    id: { type: 'string', pattern: '^[0-9A-Za-z]{8}$' },
    displayPrefix: { type: 'string' },
    environment: { enum: ['live', 'test'] },
    orgId: { type: 'string' },
    name: { type: 'string' },
    description: nullable({ type: 'string' }),
    projects: { type: 'array', items: { type: 'string' } },
    scopes: { type: 'array', items: { type: 'string' } },
    allowedOrigins: { type: 'array', items: { type: 'string' } },
    allowedIps: { type: 'array', items: { type: 'string' } },
    rateLimit: { type: 'array', items: rule },
    metadata: { type: 'object' },
    expiresAt: nullable(dateTime),
    createdAt: dateTime,
    updatedAt: dateTime,
    lastUsedAt: nullable(dateTime),
    revokedAt: nullable(dateTime),
    rotatedFrom: nullable({ type: 'string' }),
    rotatedTo: nullable({ type: 'string' }),
    credits: nullable({
      type: 'object',
      required: ['remaining', 'refill'],
      additionalProperties: false,
      description: 'Usage credits: remaining is the live balance on GET /keys/{id}, else the balance last set',
      properties: { remaining: { type: 'integer', minimum: 0 }, refill: nullable(refill) },
    }),
  },
}

const problem: Json = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  description: 'RFC 9457 problem document (application/problem+json).',
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    scope: { type: 'string' },
    retryAfter: { type: 'integer' },
  },
}

const problemResponse = (description: string): Json => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
})
const jsonResponse = (description: string, schema: Json): Json => ({ description, content: { 'application/json': { schema } } })
const jsonBody = (schema: Json, required: boolean): Json => ({ required, content: { 'application/json': { schema } } })

const COMMON: Json = {
  '401': problemResponse('Missing or invalid credential'),
  '403': problemResponse('The credential lacks the management scope, or is used from an origin or address it is not allowed'),
  '402': problemResponse("The credential's usage credits are exhausted (credits_exhausted)"),
  '429': problemResponse('Rate limited, or too many failed attempts from this address'),
  '503': problemResponse('The store is unavailable'),
}
// Writes can also be refused for what they would grant: more than the caller holds, or a policy's no.
const GRANT = {
  '403': problemResponse(
    'The credential lacks the management scope or is used from an origin or address it is not ' +
      'allowed; or the key would hold more than the caller (grant ceiling: `errors` names each field, ' +
      '`scope` the missing scopes); or the write policy refused',
  ),
}
const NOT_FOUND = { '404': problemResponse("No such key in the caller's organization (another org's key looks the same)") }
const INVALID = { '400': problemResponse('Invalid input: `errors` names every bad field') }
const BODY = {
  '413': problemResponse('Body larger than the bound (16 KiB by default)'),
  '415': problemResponse('Body not application/json'),
}
const idParam: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9A-Za-z]{8}$' } }

/**
 * The OpenAPI 3.1 document of the management routes (`managementRouter()` in every adapter),
 * paths relative to where they are mounted. A fresh object each call: add your `servers` freely.
 *
 * @example
 * ```ts
 * app.get('/admin/openapi.json', (_req, res) => res.json({ ...managementOpenApi(), servers: [{ url: '/admin' }] }))
 * ```
 */
export function managementOpenApi(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'keyward key management',
      version: '1.0.0',
      description:
        "Create, list, change, rotate and revoke API keys of the caller's organization. Responses are " +
        "never cached (Cache-Control: no-store); a key's secret appears only in the answers of create " +
        'and rotate.',
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/keys': {
        post: {
          operationId: 'createKey',
          summary: "Create a key in the caller's organization; the key is returned this once",
          requestBody: jsonBody(ref('CreateKeyInput'), true),
          responses: { '201': jsonResponse('Created', ref('CreatedKey')), ...INVALID, ...BODY, ...COMMON, ...GRANT },
        },
        get: {
          operationId: 'listKeys',
          summary: "List the caller's organization's keys, by id, one page at a time",
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: LIST_PAGE.max, default: LIST_PAGE.default } },
            {
              name: 'after',
              in: 'query',
              schema: { type: 'string', pattern: '^[0-9A-Za-z]{8}$' },
              description: 'The `next` of the previous page',
            },
            { name: 'includeRevoked', in: 'query', schema: { type: 'boolean', default: false } },
          ],
          responses: { '200': jsonResponse('A page of keys', ref('KeyList')), ...INVALID, ...COMMON },
        },
      },
      '/keys/{id}': {
        parameters: [idParam],
        get: {
          operationId: 'getKey',
          summary: 'One key',
          responses: { '200': jsonResponse('The key', ref('KeyInfo')), ...NOT_FOUND, ...COMMON },
        },
        patch: {
          operationId: 'updateKey',
          summary: 'Change a key that still works (not revoked, expired or rotated out)',
          requestBody: jsonBody(ref('UpdateKeyInput'), true),
          responses: { '200': jsonResponse('The changed key', ref('KeyInfo')), ...INVALID, ...NOT_FOUND, ...BODY, ...COMMON, ...GRANT },
        },
        delete: {
          operationId: 'revokeKey',
          summary: 'Revoke a key: refused from the very next request. Idempotent.',
          parameters: [
            {
              name: 'successors',
              in: 'query',
              schema: { type: 'boolean', default: false },
              description:
                'Also revoke every key rotated from this one, to the end of the chain (compromise recovery: a ' +
                'stolen key that rotated itself)',
            },
          ],
          responses: { '200': jsonResponse('The revoked key', ref('KeyInfo')), ...INVALID, ...NOT_FOUND, ...COMMON },
        },
      },
      '/keys/{id}/rotate': {
        parameters: [idParam],
        post: {
          operationId: 'rotateKey',
          summary: 'Replace a key by a new one with the same settings; the old one works for the grace period',
          requestBody: jsonBody(ref('RotateInput'), false),
          responses: {
            '200': jsonResponse('The new key, returned this once', ref('CreatedKey')),
            ...INVALID,
            ...NOT_FOUND,
            ...BODY,
            ...COMMON,
            ...GRANT,
          },
        },
      },
      '/capabilities': {
        get: {
          operationId: 'getCapabilities',
          summary: 'What the caller may do and grant, for a user interface (every write is still checked)',
          responses: { '200': jsonResponse("The caller's capabilities", ref('Capabilities')), ...COMMON },
        },
      },
      '/ui/keyward-keys.js': {
        get: {
          operationId: 'getKeywardKeysScript',
          summary: 'The <keyward-keys> web component (public code: no credential)',
          security: [],
          responses: {
            '200': { description: 'The ES module', content: { 'text/javascript': { schema: { type: 'string' } } } },
            '304': { description: 'Not modified (If-None-Match matched the ETag)' },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (or token) with the management scope, `admin` by default' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        KeyInfo: keyInfo,
        CreatedKey: {
          type: 'object',
          required: ['key', 'info'],
          additionalProperties: false,
          properties: { key: { type: 'string', description: 'The full secret, shown once' }, info: ref('KeyInfo') },
        },
        KeyList: {
          type: 'object',
          required: ['data', 'next'],
          additionalProperties: false,
          properties: { data: { type: 'array', items: ref('KeyInfo') }, next: nullable({ type: 'string' }) },
        },
        CreateKeyInput: {
          type: 'object',
          required: ['name', 'projects'],
          additionalProperties: false,
          properties: {
            ...createProperties,
            orgId: { type: 'string', description: "Omit it, or give the caller's own" },
            environment: { enum: ['live', 'test'] },
            prefix: { type: 'string' },
          },
        },
        UpdateKeyInput: { type: 'object', additionalProperties: false, properties: updateProperties },
        RotateInput: {
          type: 'object',
          additionalProperties: false,
          properties: { gracePeriodMs: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3_600_000 } },
        },
        Capabilities: {
          type: 'object',
          required: ['actions', 'scopes', 'projects', 'environment', 'maxExpiresAt', 'placeBounds', 'fields', 'csrfHeader'],
          additionalProperties: false,
          properties: {
            actions: {
              type: 'array',
              items: { enum: ['keys.create', 'keys.list', 'keys.read', 'keys.update', 'keys.rotate', 'keys.revoke'] },
            },
            scopes: { type: 'array', items: { type: 'string' }, description: 'Scopes the caller may put on a key' },
            projects: { oneOf: [{ type: 'array', items: { type: 'string' } }, { const: '*' }] },
            environment: { enum: ['live', 'test'] },
            maxExpiresAt: nullable(dateTime),
            placeBounds: nullable({
              type: 'object',
              required: ['allowedIps', 'allowedOrigins'],
              additionalProperties: false,
              properties: {
                allowedIps: { type: 'array', items: { type: 'string' } },
                allowedOrigins: { type: 'array', items: { type: 'string' } },
              },
              description:
                'An API-key caller held to addresses or origins: its own lists. Keys it creates must be held within them ' +
                "(an empty list is refused); its own lists always qualify. Null for any other caller, or with grantRestrictions: 'any'",
            }),
            fields: { type: 'array', items: { type: 'string' }, description: 'Create fields to offer' },
            csrfHeader: nullable({ type: 'string' }),
          },
        },
        Problem: problem,
      },
    },
  }
}
