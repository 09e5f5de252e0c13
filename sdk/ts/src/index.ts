/**
 * `@latchkey/sdk`: scoped, expiring session keys for Starknet smart accounts. Keys are
 * created, sealed and used inside a WebAssembly build of latchkey-core; see API.md.
 */
export { init, isInitialized } from './wasm.js';
export { LatchkeyError, ErrorCodes, isLatchkeyError, type ErrorCodeName } from './errors.js';
export {
  OwnerSigner,
  SessionSigner,
  DEFAULT_SESSION_SECONDS,
  createOwnerKey,
  createSessionKey,
  unlockOwnerKey,
  unlockSessionKey,
  pinWeakness,
  selectorFromName,
  normalizeFelt,
  messageHash,
  accountAddress,
  decodeOutsideExecution,
  verifySignature,
  encryptedKeyFormat,
  needsUpgrade,
  version,
  nowSeconds,
  type Secret,
  type KeyFormat,
  type KdfOption,
  type SessionKeyData,
  type WalletRef,
  type TypedData,
  type TypedDataMember,
  type JsonValue,
  type OwnerSignature,
  type OutsideExecutionView,
  type NormalizedCall,
} from './keys.js';
export {
  LatchkeyClient,
  type LatchkeyClientOptions,
  type Call,
  type Execution,
  type Wallet,
  type Session,
  type SessionMethod,
  type SpendingCap,
  type SessionTerms,
  type AllowedMethodInput,
  type SpendingCapInput,
  type Prepared,
  type PublicConfig,
  type StoredSession,
} from './client.js';
export {
  browserSessionStorage,
  serverSessionStorage,
  memorySessionStorage,
  type SessionStorageAdapter,
} from './storage.js';
export {
  SessionManager,
  deriveSessionState,
  DEFAULT_MAX_CALLS,
  type SessionState,
  type SessionManagerOptions,
  type RegisterOptions,
  type SessionSnapshot,
} from './manager.js';
export {
  ChipiClient,
  CHIPI_API_VERSION,
  type ChipiClientOptions,
  type ChipiWallet,
  type ChipiOwnerWallet,
  type ChipiSessionData,
} from './chipi.js';
