// The viem entry points the tests use, in one place.
export { concat, encodeAbiParameters, getContractAddress, keccak256, numberToHex, pad, toHex, hexToBigInt, size, slice } from 'viem';
export { toPackedUserOperation } from 'viem/account-abstraction';
