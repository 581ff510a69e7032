import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

type Json = Record<string, unknown>

// The OpenAPI document's own top-level fields are not JSON Schema keywords; declared as plain
// annotations they let ajv hold the whole document (so `#/components/schemas/...` refs resolve)
// while strict mode still refuses any unknown keyword inside a schema that is actually compiled.
const OPENAPI_FIELDS = [
  'openapi',
  'info',
  'security',
  'paths',
  'components',
  'servers',
  'tags',
  'webhooks',
  'jsonSchemaDialect',
  'externalDocs',
]
const DOCUMENT_ID = 'https://keyward.test/management-openapi.json'

/**
 * Validates JSON values against the schemas of an OpenAPI 3.1 document with ajv (draft 2020-12,
 * strict, every error). `check(value, schema)` takes a schema from inside the document (its `$ref`s
 * are resolved against the document) and returns ajv's errors as `path: message` lines, empty when
 * the value holds.
 */
export function openApiValidator(doc: Json): { check(value: unknown, schema: Json): string[]; compileAll(): void } {
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  addFormats.default(ajv)
  for (const field of OPENAPI_FIELDS) ajv.addKeyword(field)
  ajv.addSchema({ ...doc, $id: DOCUMENT_ID })
  const format = (errors: ErrorObject[] | null | undefined): string[] =>
    (errors ?? []).map((e) => `${e.instancePath || '$'}: ${e.message ?? e.keyword}`)
  const check = (value: unknown, schema: Json): string[] => {
    const validate = ajv.compile({ $ref: resolve(schema) })
    return validate(value) ? [] : format(validate.errors)
  }
  return {
    check,
    // Compiles every named schema, so a keyword ajv does not know (a typo, a 3.0-only `nullable`)
    // fails even in a schema no response happens to use.
    compileAll() {
      for (const name of Object.keys(((doc.components as Json).schemas as Json) ?? {}))
        ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`)
    },
  }
}

// Every schema the document uses for a body is a `$ref` to a named one; inline schemas are not
// needed, and refusing them keeps a test from validating against a copy detached from the document.
function resolve(schema: Json): string {
  if (typeof schema.$ref === 'string' && Object.keys(schema).length === 1) return `${DOCUMENT_ID}${schema.$ref}`
  throw new TypeError('openApiValidator: pass a { $ref } into the document')
}
