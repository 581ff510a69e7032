// The root entry: exactly the names docs/api.md lists (test/public-surface.test.ts holds the two
// together). Everything else in src/ is internal; tests and benchmarks import it by path.

// For app developers: the instance and verify()
export { createKeyward, type Keyward, type KeywardOptions } from './keyward.js'
export type { CacheOptions } from './verify/key-cache.js'
export type { ScopeHierarchy } from './keys/scopes.js'
export type { Environment } from './keys/format.js'
export type { LockoutOptions, LockoutCountedCode } from './verify/lockout-options.js'
export type { RestrictionMode } from './http/restrictions.js'
export type { VerifyInput, VerifyResult } from './verify/verify.js'
export type { HeaderSource } from './http/credentials.js'
export type { WaitUntil } from './verify/usage-recorder.js'
export type {
  AuthContext,
  ApiKeyAuthContext,
  CreditRefill,
  CreditsInfo,
  JwtAuthContext,
  KeyCredits,
  KeyInfo,
  RateLimitAlgorithm,
  RateLimitRule,
} from './types.js'

// Errors
export {
  KeywardError,
  isKeywardError,
  type KeywardErrorCode,
  type KeywardErrorOptions,
  type FieldIssue,
  type ProblemDocument,
} from './errors.js'
export { MfaRequiredError } from './jwt/mfa-required-error.js'

// Managing keys, delegation and audit events
export type { KeyManager, CreatedKey, GetKeyOptions, ListKeysOptions, RotateOptions } from './keys/manager.js'
export type { LeakReport, ReportLeakedOptions } from './keys/leak-report.js'
export type { CreateKeyInput, CreditsInput, CreditsTopUp, UpdateKeyInput } from './keys/input.js'
export { checkGrantCeiling, grantCeilingIssues, type GrantCeilingOptions, type GrantTarget } from './keys/grant-ceiling.js'
export { createScopeExpander } from './keys/scopes.js'
export {
  actorOf,
  type KeywardEvent,
  type KeywardEventType,
  type EventActor,
  type EventHook,
  type ActionContext,
  type LeakDetails,
} from './events.js'

// Leaked keys: the secret-scanning partner endpoint
export {
  createSecretScanningHandler,
  GITHUB_SECRET_SCANNING_KEYS_URL,
  type SecretScanningHandler,
  type SecretScanningOptions,
} from './scanning/handler.js'
export { leakedKeyPattern } from './scanning/key-pattern.js'
export { MemoryReplayGuard, type ReplayGuard } from './scanning/replay-guard.js'
export type { ScanningProblemCode } from './scanning/responses.js'

// User tokens (JWT) and two-factor logins
export type {
  JwtOptions,
  SigningKey,
  VerificationKey,
  TrustedIssuer,
  ClaimMapping,
  AsymmetricAlgorithm,
  RemoteAlgorithm,
} from './jwt/jwt-options.js'
export type { TokenManager, TokenPair, IssueTokensInput, LoginInput } from './jwt/token-manager.js'
export { totp, type TotpUriInput } from './jwt/totp.js'

// In-memory backends and the failure policy
export { MemoryTokenStore } from './stores/memory-token-store.js'
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './limiters/memory-rate-limiter.js'
export { withFailurePolicy, type FailurePolicyOptions, type QuotaFailurePolicy } from './limiters/failure-policy.js'

// Management routes
export { createManagementHandler, type ManagementHandler } from './management/handler.js'
export { managementOpenApi } from './management/openapi.js'
export type {
  CallerProjects,
  ManagementAction,
  ManagementCall,
  ManagementWrite,
  WritePolicy,
  ManagementOptions,
  ManagementRequest,
  ManagementResponse,
  BodySource,
} from './management/types.js'

// For adapter authors: what adapters/*.ts import by package name
export { createClientIpResolver, type TrustProxy, type ClientIpResolver } from './http/client-ip.js'
export { isPreflight } from './http/preflight.js'
export { problemResponse, errorResponse, type ErrorResponse, type ErrorResponseOverride, type ErrorHook } from './http/problem-response.js'
export { missingScopes, isValidScope } from './keys/scopes.js'
export { ownsPath, CAPABILITIES_PATH, UI_SCRIPT_PATH } from './management/routes.js'
export { computeCapabilities } from './management/capabilities.js'
export type { ManagementCapabilities, CapabilitiesHook, KeyFormField } from './management/types.js'

// For store and limiter authors: the interfaces a custom backend implements
export type { KeyRecord } from './types.js'
export type { TokenStore, InvalidationEvent, KeyRecordPatch, ListOptions, UpdateCondition } from './stores/token-store.js'
export type { RefreshFamilyRecord, RefreshRotation } from './jwt/refresh-family.js'
export type {
  RateLimiter,
  LimitRequest,
  LimitResult,
  RuleState,
  LockoutPolicy,
  BlockState,
  SharedQuota,
  CreditAdjustment,
} from './limiters/rate-limiter.js'
export type { SharedQuotaOption } from './limiters/shared-quotas.js'
