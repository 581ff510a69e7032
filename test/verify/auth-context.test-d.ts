import { createKeyward, type ApiKeyAuthContext, type AuthContext, type JwtAuthContext, type KeyInfo } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'

const kw = createKeyward({ prefix: 'bsk' })

describe('AuthContext: a union narrowed by type', () => {
  it('is exactly the two kinds of caller', () => {
    expectTypeOf<AuthContext>().toEqualTypeOf<ApiKeyAuthContext | JwtAuthContext>()
    expectTypeOf<AuthContext['type']>().toEqualTypeOf<'api_key' | 'jwt'>()
  })

  it("narrows to an API key's fields on type === 'api_key'", async () => {
    const result = await kw.verify({ headers: {} })
    if (!result.ok) return
    const auth = result.auth
    if (auth.type === 'api_key') {
      expectTypeOf(auth).toEqualTypeOf<ApiKeyAuthContext>()
      expectTypeOf(auth.keyId).toEqualTypeOf<string>()
      expectTypeOf(auth.key).toEqualTypeOf<KeyInfo>()
      expectTypeOf(auth.subject).toEqualTypeOf<undefined>()
      expectTypeOf(auth.claims).toEqualTypeOf<undefined>()
    } else {
      expectTypeOf(auth).toEqualTypeOf<JwtAuthContext>()
      expectTypeOf(auth.subject).toEqualTypeOf<string>()
      expectTypeOf(auth.mfa).toEqualTypeOf<boolean>()
      expectTypeOf(auth.issuer).toEqualTypeOf<string>()
      expectTypeOf(auth.claims).toEqualTypeOf<Readonly<Record<string, unknown>>>()
      expectTypeOf(auth.sessionId).toEqualTypeOf<string | undefined>()
      expectTypeOf(auth.keyId).toEqualTypeOf<undefined>()
      expectTypeOf(auth.key).toEqualTypeOf<undefined>()
    }
  })

  it('still reads either id without narrowing, possibly undefined (auth.subject ?? auth.keyId)', () => {
    const auth = {} as AuthContext
    expectTypeOf(auth.keyId).toEqualTypeOf<string | undefined>()
    expectTypeOf(auth.subject).toEqualTypeOf<string | undefined>()
    expectTypeOf(auth.org).toEqualTypeOf<string>()
    expectTypeOf(auth.scopes).toEqualTypeOf<readonly string[]>()
  })

  it('refuses a context that mixes the two kinds', () => {
    const base = { org: 'org_1', scopes: ['read'], projects: [], environment: 'live' } as const
    // @ts-expect-error an API-key context has no subject
    const mixed: AuthContext = { ...base, type: 'api_key', keyId: 'AbCd1234', key: {} as KeyInfo, subject: 'user_1' }
    // @ts-expect-error a JWT context has no keyId
    const other: AuthContext = {
      ...base,
      type: 'jwt',
      subject: 'user_1',
      mfa: false,
      issuer: 'https://api.example',
      claims: {},
      keyId: 'AbCd1234',
    }
    void [mixed, other]
  })
})
