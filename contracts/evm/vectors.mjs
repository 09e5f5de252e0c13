// Golden vectors for the Rust crate latchkey-evm-contracts, computed with viem (an
// independent implementation): ERC-4337 v0.8 userOp packing and EIP-712 hashes, EIP-191
// digests, owner/session signatures (RFC 6979, so deterministic), LatchkeyPaymaster.getHash,
// counterfactual account addresses and the EntryPoint placement.
//
//   node vectors.mjs           writes ../../test-vectors/evm-userop-v08.json
//   node vectors.mjs --check   exits 1 if the committed file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  concat,
  encodeAbiParameters,
  getContractAddress,
  hashMessage,
  keccak256,
  numberToHex,
  pad,
  parseSignature,
  toFunctionSelector,
} from 'viem';
import { privateKeyToAccount, sign } from 'viem/accounts';
import { getUserOperationHash, toPackedUserOperation } from 'viem/account-abstraction';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'test-vectors', 'evm-userop-v08.json');

const ENTRY_POINT = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';
const OTHER_ENTRY_POINT = '0x0000000071727De22E5E9d8BAf0edAc6f37da032';
const CREATE2_PROXY = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
const ENTRY_POINT_SALT = '0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9';
const entryPointBytecode = JSON.parse(readFileSync(join(here, 'build', 'EntryPoint.json'), 'utf8')).bytecode;

// Fixed test keys (never funded anywhere).
const OWNER_KEY = '0x1111111111111111111111111111111111111111111111111111111111111111';
const SESSION_KEY = '0x2222222222222222222222222222222222222222222222222222222222222222';
const PAYMASTER_SIGNER_KEY = '0x3333333333333333333333333333333333333333333333333333333333333333';

const FACTORY = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const PAYMASTER = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const SENDER = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0';
const GAME = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9';

const hex = (n) => numberToHex(n);

/// One userOp in the unpacked v0.8 form; absent factory/paymaster are left out as viem expects.
function userOp({ factory, paymaster, nonce, callData, chainNote }) {
  const op = {
    sender: SENDER,
    nonce,
    callData,
    callGasLimit: 150000n,
    verificationGasLimit: 300000n,
    preVerificationGas: 50000n,
    maxFeePerGas: 2000000000n,
    maxPriorityFeePerGas: 1000000000n,
    signature: '0x',
  };
  if (factory) {
    op.factory = FACTORY;
    op.factoryData = factory;
  }
  if (paymaster) Object.assign(op, paymaster);
  return { op, chainNote };
}

const createAccountData =
  toFunctionSelector('createAccount(address,uint256)') + encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [privateKeyToAccount(OWNER_KEY).address, 7n]).slice(2);
const makeMoveCall = toFunctionSelector('execute(address,uint256,bytes)') + encodeAbiParameters(
  [{ type: 'address' }, { type: 'uint256' }, { type: 'bytes' }],
  [GAME, 0n, toFunctionSelector('makeMove(uint256)') + pad(numberToHex(3n)).slice(2)],
).slice(2);

/// A 129-byte paymasterAndData layout: paymasterData = validUntil(6) || validAfter(6) || 65-byte signature.
function paymasterFields(validUntil, validAfter, sig) {
  return {
    paymaster: PAYMASTER,
    paymasterVerificationGasLimit: 100000n,
    paymasterPostOpGasLimit: 0n,
    paymasterData: concat([pad(numberToHex(validUntil), { size: 6 }), pad(numberToHex(validAfter), { size: 6 }), sig]),
  };
}

const sessionAddress = privateKeyToAccount(SESSION_KEY).address;
// Session nonce key = uint192(key) << 32 | registration; nonce = key << 64 | sequence.
const sessionNonceKey = (BigInt(sessionAddress) << 32n) | 2n;
const sessionNonce = (sessionNonceKey << 64n) | 5n;

const cases = [
  { name: 'owner, no factory, no paymaster', ...userOp({ nonce: 0n, callData: makeMoveCall }) },
  { name: 'first userOp: factory, no paymaster', ...userOp({ factory: createAccountData, nonce: 0n, callData: makeMoveCall }) },
  {
    name: 'factory and paymaster (zero signature placeholder)',
    ...userOp({ factory: createAccountData, nonce: 0n, callData: makeMoveCall, paymaster: paymasterFields(0n, 0n, pad('0x', { size: 65 })) }),
  },
  {
    name: 'session nonce, paymaster with window',
    ...userOp({ nonce: sessionNonce, callData: makeMoveCall, paymaster: paymasterFields(1900000000n, 1700000000n, pad('0x1b', { size: 65, dir: 'right' })) }),
  },
  { name: 'empty callData', ...userOp({ nonce: 1n, callData: '0x' }) },
];

function sigParts(signature) {
  const { r, s, v } = parseSignature(signature);
  return { r, s, v: Number(v) };
}

async function signatureVector(kind, digestSource, key) {
  const digest = kind % 2 === 0 ? digestSource : hashMessage({ raw: digestSource });
  const sig = await sign({ hash: digest, privateKey: key, to: 'hex' });
  const { r, s, v } = sigParts(sig);
  return { kind, digest, encoded: concat([numberToHex(kind, { size: 1 }), r, s, numberToHex(v, { size: 1 })]) };
}

const userOps = [];
for (const c of cases) {
  for (const [chainId, entryPoint] of [
    [31337, ENTRY_POINT],
    [1, ENTRY_POINT],
    [31337, OTHER_ENTRY_POINT],
  ]) {
    const hash = getUserOperationHash({ chainId, entryPointAddress: entryPoint, entryPointVersion: '0.8', userOperation: c.op });
    const packed = toPackedUserOperation(c.op);
    const v = {
      name: c.name,
      chainId,
      entryPoint,
      userOp: {
        sender: c.op.sender,
        nonce: hex(c.op.nonce),
        factory: c.op.factory ?? null,
        factoryData: c.op.factoryData ?? '0x',
        callData: c.op.callData,
        callGasLimit: hex(c.op.callGasLimit),
        verificationGasLimit: hex(c.op.verificationGasLimit),
        preVerificationGas: hex(c.op.preVerificationGas),
        maxFeePerGas: hex(c.op.maxFeePerGas),
        maxPriorityFeePerGas: hex(c.op.maxPriorityFeePerGas),
        paymaster: c.op.paymaster ?? null,
        paymasterVerificationGasLimit: hex(c.op.paymasterVerificationGasLimit ?? 0n),
        paymasterPostOpGasLimit: hex(c.op.paymasterPostOpGasLimit ?? 0n),
        paymasterData: c.op.paymasterData ?? '0x',
        signature: c.op.signature,
      },
      packed: {
        initCode: packed.initCode,
        accountGasLimits: packed.accountGasLimits,
        gasFees: packed.gasFees,
        paymasterAndData: packed.paymasterAndData,
      },
      userOpHash: hash,
      eip191Digest: hashMessage({ raw: hash }),
      signatures: [
        await signatureVector(0, hash, OWNER_KEY),
        await signatureVector(1, hash, OWNER_KEY),
        await signatureVector(2, hash, SESSION_KEY),
        await signatureVector(3, hash, SESSION_KEY),
      ],
    };
    userOps.push(v);
  }
}

// LatchkeyPaymaster.getHash: computed here from its Solidity definition (abi.encode of the
// packed fields, chain id, paymaster, window), independent of the Rust code.
const paymasterHashes = [];
for (const [chainId, validUntil, validAfter] of [
  [31337, 1900000000n, 1700000000n],
  [1, 0n, 0n],
]) {
  const op = { ...cases[2].op, ...paymasterFields(validUntil, validAfter, pad('0x', { size: 65 })) };
  const packed = toPackedUserOperation(op);
  const hash = keccak256(
    encodeAbiParameters(
      [
        { type: 'address' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' },
        { type: 'uint128' }, { type: 'uint128' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'uint256' },
        { type: 'address' }, { type: 'uint48' }, { type: 'uint48' },
      ],
      [
        packed.sender, packed.nonce, keccak256(packed.initCode), keccak256(packed.callData), packed.accountGasLimits,
        op.paymasterVerificationGasLimit, op.paymasterPostOpGasLimit, packed.preVerificationGas, packed.gasFees,
        BigInt(chainId), PAYMASTER, validUntil, validAfter,
      ],
    ),
  );
  const sig = await sign({ hash, privateKey: PAYMASTER_SIGNER_KEY, to: 'hex' });
  const { r, s, v } = sigParts(sig);
  const signature = concat([r, s, numberToHex(v, { size: 1 })]);
  paymasterHashes.push({
    chainId,
    paymaster: PAYMASTER,
    validUntil: Number(validUntil),
    validAfter: Number(validAfter),
    userOp: {
      sender: op.sender,
      nonce: hex(op.nonce),
      factory: op.factory,
      factoryData: op.factoryData,
      callData: op.callData,
      callGasLimit: hex(op.callGasLimit),
      verificationGasLimit: hex(op.verificationGasLimit),
      preVerificationGas: hex(op.preVerificationGas),
      maxFeePerGas: hex(op.maxFeePerGas),
      maxPriorityFeePerGas: hex(op.maxPriorityFeePerGas),
      paymaster: op.paymaster,
      paymasterVerificationGasLimit: hex(op.paymasterVerificationGasLimit),
      paymasterPostOpGasLimit: hex(op.paymasterPostOpGasLimit),
      paymasterData: op.paymasterData,
      signature: '0x',
    },
    hash,
    signerSignature: signature,
    paymasterAndData: toPackedUserOperation({ ...op, ...paymasterFields(validUntil, validAfter, signature) }).paymasterAndData,
  });
}

// Counterfactual accounts: CREATE2(factory, keccak256(abi.encode(owner, salt)), EIP-1167 init code).
const accounts = [];
for (const [factory, owner, salt] of [
  [FACTORY, privateKeyToAccount(OWNER_KEY).address, 0n],
  [FACTORY, privateKeyToAccount(OWNER_KEY).address, 7n],
  ['0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9', sessionAddress, 2n ** 256n - 1n],
]) {
  const implementation = getContractAddress({ from: factory, nonce: 1n });
  const initCode = concat(['0x3d602d80600a3d3981f3363d3d373d3d3d363d73', implementation, '0x5af43d82803e903d91602b57fd5bf3']);
  const salt32 = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [owner, salt]));
  accounts.push({
    factory,
    implementation,
    owner,
    salt: hex(salt),
    account: getContractAddress({ opcode: 'CREATE2', from: factory, salt: salt32, bytecode: initCode }),
  });
}

const keys = {
  owner: { privateKey: OWNER_KEY, address: privateKeyToAccount(OWNER_KEY).address },
  session: { privateKey: SESSION_KEY, address: sessionAddress },
  paymasterSigner: { privateKey: PAYMASTER_SIGNER_KEY, address: privateKeyToAccount(PAYMASTER_SIGNER_KEY).address },
};

const vectors = {
  description:
    'ERC-4337 v0.8 golden vectors computed by contracts/evm/vectors.mjs with viem 2.58.8 (getUserOperationHash, toPackedUserOperation, hashMessage, sign, getContractAddress); checked by crates/evm/latchkey-evm-contracts.',
  keys,
  sessionNonce: { key: sessionAddress, registration: 2, nonceKey: hex(sessionNonceKey), sequence: 5, nonce: hex(sessionNonce) },
  entryPointPlacement: {
    proxy: CREATE2_PROXY,
    salt: ENTRY_POINT_SALT,
    bytecodeHash: keccak256(entryPointBytecode),
    address: getContractAddress({ opcode: 'CREATE2', from: CREATE2_PROXY, salt: ENTRY_POINT_SALT, bytecode: entryPointBytecode }),
  },
  userOps,
  paymasterHashes,
  accounts,
};

const text = JSON.stringify(vectors, null, 2) + '\n';
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(out, 'utf8');
  } catch {
    // missing: reported below
  }
  if (committed !== text) {
    console.error(`${out} is stale or missing: run node contracts/evm/vectors.mjs`);
    process.exit(1);
  }
  console.log(`${out} is up to date (${userOps.length} userOps, ${paymasterHashes.length} paymaster hashes, ${accounts.length} accounts)`);
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
