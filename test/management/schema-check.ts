/**
 * A small JSON Schema checker: exactly the subset managementOpenApi() uses (type, enum, required,
 * properties, additionalProperties: false, items, oneOf, $ref, pattern, format date-time, minimum,
 * maximum, minItems, maxItems, minLength, maxLength). Returns the problems, empty when it holds.
 * An unknown keyword is itself reported, so the document cannot drift past what is checked.
 */
type Schema = Record<string, unknown>

const KNOWN = new Set([
  'type', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'oneOf', '$ref', 'pattern', 'format',
  'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'description', 'default', 'multipleOf',
])

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

export function checkSchema(value: unknown, schema: Schema, root: Schema, at = '$'): string[] {
  const problems: string[] = []
  for (const keyword of Object.keys(schema)) if (!KNOWN.has(keyword)) problems.push(`${at}: schema keyword ${keyword} is not supported by the checker`)
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace('#/', '').split('/').reduce<unknown>((node, part) => (node as Schema)[part], root)
    return [...problems, ...checkSchema(value, target as Schema, root, at)]
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = (schema.oneOf as Schema[]).filter((s) => checkSchema(value, s, root, at).length === 0)
    if (matching.length !== 1) problems.push(`${at}: matches ${matching.length} of oneOf`)
    return problems
  }
  const actual = typeOf(value)
  if (schema.type !== undefined && schema.type !== actual && !(schema.type === 'number' && actual === 'integer')) return [...problems, `${at}: ${actual}, expected ${String(schema.type)}`]
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} not in enum`)
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: does not match ${schema.pattern}`)
    if (schema.format === 'date-time' && (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value)))) problems.push(`${at}: not a date-time`)
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`)
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`)
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`)
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`)
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) problems.push(`${at}: fewer than ${schema.minItems} items`)
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) problems.push(`${at}: more than ${schema.maxItems} items`)
    if (schema.items !== undefined) value.forEach((item, i) => problems.push(...checkSchema(item, schema.items as Schema, root, `${at}[${i}]`)))
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>
    for (const name of (schema.required as string[] | undefined) ?? []) if (!Object.hasOwn(object, name)) problems.push(`${at}: missing ${name}`)
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {}
    for (const [name, inner] of Object.entries(object)) {
      if (Object.hasOwn(properties, name)) problems.push(...checkSchema(inner, properties[name]!, root, `${at}.${name}`))
      else if (schema.additionalProperties === false) problems.push(`${at}: unexpected property ${name}`)
    }
  }
  return problems
}
