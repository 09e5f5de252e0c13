// WebAuthn PRF for passkey-sealed keys, done the safe way (threat K10): the assertion must
// carry user verification, and the PRF is evaluated on a fixed salt per wallet, so one
// credential gives a different secret for every wallet and the same one at every unlock.

import { LatchkeyError } from './errors.js';

/** The domain of the per-wallet PRF salt. */
const PRF_SALT_DOMAIN = 'latchkey/passkey-prf-salt/v1:';

/** The authenticator-data flag "user verified" (WebAuthn §6.1, bit 2 of the flags byte). */
const FLAG_USER_VERIFIED = 0x04;

/** Offset of the flags byte in authenticator data (after the 32-byte RP id hash). */
const FLAGS_OFFSET = 32;

/** Canonical text of an address: lowercase minimal hex, so `0x01` and `0x1` salt alike. */
function canonicalAddress(account: string): string {
  if (typeof account !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(account)) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the account must be 0x and 1 to 64 hex digits.');
  }
  const digits = account.slice(2).toLowerCase().replace(/^0+/, '');
  return `0x${digits === '' ? '0' : digits}`;
}

/** The fixed PRF salt of a wallet: SHA-256 of the domain and the canonical address. */
export async function passkeyPrfSalt(account: string): Promise<Uint8Array> {
  const text = new TextEncoder().encode(PRF_SALT_DOMAIN + canonicalAddress(account));
  return new Uint8Array(await crypto.subtle.digest('SHA-256', text));
}

/**
 * The `publicKey` options of `navigator.credentials.get` for unlocking `account`'s
 * passkey-sealed key: user verification required, the PRF asked for on the wallet's salt.
 */
export async function passkeyPrfRequest(
  account: string,
  options: { challenge: Uint8Array; rpId?: string; allowCredentials?: PublicKeyCredentialDescriptor[]; timeout?: number },
): Promise<PublicKeyCredentialRequestOptions> {
  if (!(options?.challenge instanceof Uint8Array) || options.challenge.length < 16) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the challenge must be a Uint8Array of at least 16 bytes.');
  }
  const salt = await passkeyPrfSalt(account);
  const request: PublicKeyCredentialRequestOptions = {
    challenge: new Uint8Array(options.challenge),
    userVerification: 'required',
    extensions: { prf: { eval: { first: salt } } } as AuthenticationExtensionsClientInputs,
  };
  if (options.rpId !== undefined) request.rpId = options.rpId;
  if (options.allowCredentials !== undefined) request.allowCredentials = options.allowCredentials;
  if (options.timeout !== undefined) request.timeout = options.timeout;
  return request;
}

/** What this module reads of a WebAuthn assertion (a `PublicKeyCredential` has it). */
export interface PasskeyAssertion {
  response: { authenticatorData: ArrayBuffer | Uint8Array };
  getClientExtensionResults(): { prf?: { results?: { first?: ArrayBuffer | Uint8Array } } };
}

/**
 * The secret for `unlockSessionKey` / `unlockOwnerKey` from an assertion made with
 * {@link passkeyPrfRequest}: refused (`INVALID_INPUT`) unless the authenticator verified
 * the user and returned a 32-byte PRF output.
 */
export function prfSecretFromAssertion(assertion: PasskeyAssertion): { prf: Uint8Array } {
  const data = assertion?.response?.authenticatorData;
  const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
  if (bytes === null || bytes.length <= FLAGS_OFFSET) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the assertion has no authenticator data.');
  }
  if ((bytes[FLAGS_OFFSET] & FLAG_USER_VERIFIED) === 0) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the passkey did not verify the user (userVerification must be required).');
  }
  const first = assertion.getClientExtensionResults?.()?.prf?.results?.first;
  const prf = first instanceof Uint8Array ? first : first instanceof ArrayBuffer ? new Uint8Array(first) : null;
  if (prf === null || prf.length !== 32) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the authenticator returned no 32-byte PRF output.');
  }
  return { prf: new Uint8Array(prf) };
}
