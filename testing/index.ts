/**
 * `keyward/testing`: the conformance suites keyward's own stores and limiters pass, for yours.
 * They define vitest tests (vitest is an optional peer dependency of keyward; this entry needs
 * it, no other entry imports it). See docs/testing.md.
 *
 * @example
 * ```ts
 * import { describeTokenStoreConformance } from 'keyward/testing'
 * describeTokenStoreConformance('MyTokenStore', async () => ({ store: new MyTokenStore(), close: async () => {} }))
 * ```
 *
 * @packageDocumentation
 */
export { describeTokenStoreConformance, type StoreHarness, type TokenStoreConformanceOptions } from './token-store-conformance.js'
export { describeRefreshFamilyConformance } from './refresh-family-conformance.js'
export { describeRateLimiterConformance, type LimiterHarness } from './rate-limiter-conformance.js'
export { startSecondProcess, serveSecondProcess, type SecondProcess } from './second-process.js'
export { bareRecord, familyRecord, fullRecord } from './records.js'
