// Test harness: a real anvil node per test file, the contracts of build/ deployed on it,
// and ERC-4337 v0.8 userOps built, hashed, signed and submitted with handleOps.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import {
  concat,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  decodeEventLog,
  defineChain,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  http,
  keccak256,
  numberToHex,
  pad,
  parseEther,
  toFunctionSelector,
} from 'viem';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { getUserOperationHash, toPackedUserOperation } from 'viem/account-abstraction';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');

export const CREATE2_PROXY = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
export const ENTRY_POINT_SALT = '0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9';
export const ENTRY_POINT_ADDRESS = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';
export const SENDER_CREATOR_ADDRESS = '0x449ED7C3e6Fee6a97311d4b55475DF59C44AdD33';
export const NATIVE_TOKEN = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE';
export const KIND = { ownerRaw: 0, ownerEip191: 1, sessionRaw: 2, sessionEip191: 3 };
/// anvil's first two default accounts (deployer/bundler and paymaster owner).
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
];

export function artifact(name) {
  return JSON.parse(readFileSync(join(root, 'build', `${name}.json`), 'utf8'));
}

export const A = Object.fromEntries(
  [
    'EntryPoint',
    'SenderCreator',
    'SimpleAccount',
    'SimpleAccountFactory',
    'LatchkeyAccount',
    'LatchkeyAccountFactory',
    'LatchkeyPaymaster',
    'Game',
    'DemoToken',
    'DemoNft',
  ].map((n) => [n, artifact(n)]),
);

export function anvilBinary() {
  return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// Starts anvil on 127.0.0.1 with a free port; resolves once it answers JSON-RPC.
export async function startAnvil({ chainId = 31337, extraArgs = [] } = {}) {
  const port = await freePort();
  const child = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Never leave the node behind, even when the test process dies early.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('anvil did not answer within 20 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, port, chainId, stop, child };
}

/// A deployed world: EntryPoint at its canonical address, our factory, paymaster and demo
/// contracts, and the npm SimpleAccountFactory.
export class Env {
  static async create({ chainId = 31337, anvilArgs = [] } = {}) {
    const env = new Env();
    env.anvil = await startAnvil({ chainId, extraArgs: anvilArgs });
    env.chain = defineChain({
      id: chainId,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [env.anvil.url] } },
    });
    const transport = http(env.anvil.url);
    env.public = createPublicClient({ chain: env.chain, transport });
    env.bundler = privateKeyToAccount(ANVIL_KEYS[0]);
    env.pmOwner = privateKeyToAccount(ANVIL_KEYS[1]);
    env.pmSigner = privateKeyToAccount(generatePrivateKey());
    env.wallet = createWalletClient({ chain: env.chain, transport, account: env.bundler });
    env.ownerWallet = createWalletClient({ chain: env.chain, transport, account: env.pmOwner });
    await env.deployAll();
    return env;
  }

  async stop() {
    await this.anvil.stop();
  }

  async rpc(method, params = []) {
    return this.public.request({ method, params });
  }

  async send(to, data, value = 0n, gas = 10_000_000n) {
    const hash = await this.wallet.sendTransaction({ to, data, value, gas });
    return this.public.waitForTransactionReceipt({ hash });
  }

  async deploy(name, args = []) {
    const a = A[name];
    const hash = await this.wallet.deployContract({ abi: a.abi, bytecode: a.bytecode, args, gas: 15_000_000n });
    const receipt = await this.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`deploying ${name} failed`);
    return getAddress(receipt.contractAddress);
  }

  /// EntryPoint v0.8 through the deterministic-deployment proxy with the canonical salt.
  async deployEntryPoint() {
    const expected = getContractAddress({
      opcode: 'CREATE2',
      from: CREATE2_PROXY,
      salt: ENTRY_POINT_SALT,
      bytecode: A.EntryPoint.bytecode,
    });
    if (expected !== ENTRY_POINT_ADDRESS) throw new Error(`EntryPoint would land at ${expected}`);
    const receipt = await this.send(CREATE2_PROXY, concat([ENTRY_POINT_SALT, A.EntryPoint.bytecode]));
    if (receipt.status !== 'success') throw new Error('EntryPoint deployment failed');
    this.entryPointDeployGas = receipt.gasUsed;
    return ENTRY_POINT_ADDRESS;
  }

  async deployAll() {
    this.entryPoint = await this.deployEntryPoint();
    this.paymaster = await this.deploy('LatchkeyPaymaster', [this.entryPoint, this.pmOwner.address, this.pmSigner.address]);
    this.factory = await this.deploy('LatchkeyAccountFactory', [this.entryPoint, this.paymaster]);
    this.game = await this.deploy('Game');
    this.token = await this.deploy('DemoToken');
    this.nft = await this.deploy('DemoNft');
    this.simpleFactory = await this.deploy('SimpleAccountFactory', [this.entryPoint]);
    await this.send(this.paymaster, this.encode('LatchkeyPaymaster', 'deposit'), parseEther('100'));
  }

  encode(name, functionName, args = []) {
    return encodeFunctionData({ abi: A[name].abi, functionName, args });
  }

  read(name, address, functionName, args = [], blockTag) {
    return this.public.readContract({ abi: A[name].abi, address, functionName, args, blockTag });
  }

  async now() {
    const block = await this.public.getBlock();
    return block.timestamp;
  }

  /// Sets the next block's timestamp and mines it.
  async warpTo(timestamp) {
    await this.rpc('evm_setNextBlockTimestamp', [numberToHex(timestamp)]);
    await this.rpc('evm_mine', []);
  }

  async snapshot() {
    return this.rpc('evm_snapshot', []);
  }

  async revert(id) {
    return this.rpc('evm_revert', [id]);
  }

  // --- accounts -------------------------------------------------------------------------

  async accountAddress(owner, salt = 0n) {
    return this.read('LatchkeyAccountFactory', this.factory, 'getAddress', [owner, salt]);
  }

  async isDeployed(address) {
    const code = await this.public.getCode({ address });
    return code !== undefined && code !== '0x';
  }

  /// Deploys an account for a fresh owner through a sponsored first userOp.
  async newAccount({ salt = 0n, ownerKey = generatePrivateKey() } = {}) {
    const owner = privateKeyToAccount(ownerKey);
    const sender = await this.accountAddress(owner.address, salt);
    const op = await this.ownerOp(
      { sender, owner },
      [],
      { factory: this.factory, factoryData: this.encode('LatchkeyAccountFactory', 'createAccount', [owner.address, salt]) },
    );
    const result = await this.handleOps([op]);
    if (!result.events[0]?.success) throw new Error('account deployment op failed');
    return { sender, owner, ownerKey };
  }

  async nonce(sender, key = 0n) {
    return this.read('EntryPoint', this.entryPoint, 'getNonce', [sender, key]);
  }

  // --- userOps --------------------------------------------------------------------------

  /// An unsigned userOp (viem's unpacked v0.8 shape) with gas limits that fit every test.
  async baseOp(sender, callData, extra = {}) {
    return {
      sender,
      nonce: extra.nonce ?? (await this.nonce(sender, extra.nonceKey ?? 0n)),
      callData,
      callGasLimit: extra.callGasLimit ?? 400_000n,
      verificationGasLimit: extra.verificationGasLimit ?? (extra.factory ? 600_000n : 200_000n),
      preVerificationGas: extra.preVerificationGas ?? 50_000n,
      maxFeePerGas: extra.maxFeePerGas ?? 3_000_000_000n,
      maxPriorityFeePerGas: extra.maxPriorityFeePerGas ?? 1_000_000_000n,
      ...(extra.factory ? { factory: extra.factory, factoryData: extra.factoryData } : {}),
      signature: '0x',
    };
  }

  /// Adds our paymaster's fields and signature (window [validAfter, validUntil]).
  async sponsor(op, { validUntil, validAfter = 0n, signer = this.pmSigner, paymaster = this.paymaster } = {}) {
    const until = validUntil ?? (await this.now()) + 3600n;
    op.paymaster = paymaster;
    op.paymasterVerificationGasLimit = op.paymasterVerificationGasLimit ?? 60_000n;
    op.paymasterPostOpGasLimit = op.paymasterPostOpGasLimit ?? 0n;
    op.paymasterData = '0x';
    const hash = this.paymasterHash(op, until, validAfter, paymaster);
    const signature = await signer.sign({ hash });
    op.paymasterData = concat([pad(numberToHex(until), { size: 6 }), pad(numberToHex(validAfter), { size: 6 }), signature]);
    return op;
  }

  /// The hash LatchkeyPaymaster.getHash computes (see its doc comment).
  paymasterHash(op, validUntil, validAfter, paymaster = this.paymaster) {
    const packed = toPackedUserOperation({ ...op, signature: '0x' });
    return keccak256(
      encodeAbiParameters(
        [
          'address', 'uint256', 'bytes32', 'bytes32', 'bytes32', 'uint128', 'uint128', 'uint256', 'bytes32', 'uint256',
          'address', 'uint48', 'uint48',
        ].map((type) => ({ type })),
        [
          packed.sender,
          packed.nonce,
          keccak256(packed.initCode),
          keccak256(packed.callData),
          packed.accountGasLimits,
          op.paymasterVerificationGasLimit,
          op.paymasterPostOpGasLimit,
          packed.preVerificationGas,
          packed.gasFees,
          BigInt(this.chain.id),
          paymaster,
          validUntil,
          validAfter,
        ],
      ),
    );
  }

  userOpHash(op, { chainId = this.chain.id, entryPoint = this.entryPoint } = {}) {
    return getUserOperationHash({ userOperation: op, entryPointAddress: entryPoint, entryPointVersion: '0.8', chainId });
  }

  /// `kind || r || s || v` by `signer` over the userOp hash (raw or EIP-191).
  async signOp(op, signer, kind, hashOptions) {
    const hash = this.userOpHash(op, hashOptions);
    const signature = kind % 2 === 0 ? await signer.sign({ hash }) : await signer.signMessage({ message: { raw: hash } });
    op.signature = concat([numberToHex(kind, { size: 1 }), signature]);
    return op;
  }

  /// An owner-signed, sponsored userOp running `calls` (execute for one call,
  /// executeBatch otherwise, executeUserOp when asked).
  async ownerOp(account, calls, extra = {}) {
    const callData = extra.callData ?? this.ownerCallData(calls, extra.via);
    const op = await this.baseOp(account.sender, callData, extra);
    if (extra.sponsor !== false) await this.sponsor(op, extra.paymasterOptions);
    return this.signOp(op, account.owner, extra.kind ?? KIND.ownerRaw);
  }

  ownerCallData(calls, via) {
    if (via === 'executeUserOp') return sessionCallData(calls);
    if (via === 'executeBatch' || calls.length !== 1) {
      return this.encode('LatchkeyAccount', 'executeBatch', [calls.map(callTuple)]);
    }
    const [c] = calls;
    return this.encode('LatchkeyAccount', 'execute', [c.target, c.value ?? 0n, c.data ?? '0x']);
  }

  /// A session-signed, sponsored userOp running `calls` with the session's nonce key:
  /// through executeUserOp when the session has spending caps (or `via` says so),
  /// execute / executeBatch otherwise.
  async sessionOp(sender, sessionSigner, calls, extra = {}) {
    const view = await this.read('LatchkeyAccount', sender, 'getSession', [sessionSigner.address]);
    const via = extra.via ?? (view.hasSpendingCaps ? 'executeUserOp' : undefined);
    const callData = extra.callData ?? this.ownerCallData(calls, via);
    const op = await this.baseOp(sender, callData, { nonceKey: view.nonceKey, ...extra });
    if (extra.sponsor !== false) await this.sponsor(op, extra.paymasterOptions);
    return this.signOp(op, sessionSigner, extra.kind ?? KIND.sessionRaw);
  }

  /// handleOps from the bundler EOA with a fixed gas limit (no estimation), so a refused
  /// bundle is mined as a reverted transaction. Returns the receipt and decoded events,
  /// after checking each UserOperationEvent's hash against viem's.
  async handleOps(ops, { entryPoint = this.entryPoint } = {}) {
    const packed = ops.map((op) => toPackedUserOperation(op));
    const receipt = await this.send(entryPoint, this.encode('EntryPoint', 'handleOps', [packed, this.bundler.address]));
    const events = [];
    const reverts = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== entryPoint.toLowerCase()) continue;
      try {
        const ev = decodeEventLog({ abi: A.EntryPoint.abi, data: log.data, topics: log.topics });
        if (ev.eventName === 'UserOperationEvent') events.push(ev.args);
        if (ev.eventName === 'UserOperationRevertReason') reverts.push(ev.args);
      } catch {
        // other events
      }
    }
    // Every executed op's hash as the EntryPoint computed it equals viem's.
    for (const [i, event] of events.entries()) {
      if (event.userOpHash !== this.userOpHash(ops[i], { entryPoint })) {
        throw new Error(`userOpHash mismatch for op ${i}: EntryPoint ${event.userOpHash}`);
      }
    }
    return { receipt, events, reverts };
  }

  /// Simulates handleOps (eth_call) and returns the decoded revert ("FailedOp" etc.), or
  /// null when it would succeed.
  async simulateHandleOps(ops, { entryPoint = this.entryPoint } = {}) {
    const packed = ops.map((op) => toPackedUserOperation(op));
    try {
      await this.public.call({
        account: this.bundler.address,
        to: entryPoint,
        data: this.encode('EntryPoint', 'handleOps', [packed, this.bundler.address]),
        gas: 10_000_000n,
        // The block the bundle would be mined in (honours evm_setNextBlockTimestamp).
        blockTag: 'pending',
      });
      return null;
    } catch (error) {
      const data = revertData(error);
      if (!data) throw error;
      return decodeErrorResult({ abi: A.EntryPoint.abi, data });
    }
  }
}

export function callTuple(c) {
  return { target: c.target, value: c.value ?? 0n, data: c.data ?? '0x' };
}

const CALLS_TYPE = [
  {
    type: 'tuple[]',
    components: [
      { name: 'target', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'data', type: 'bytes' },
    ],
  },
];

export const EXECUTE_USER_OP_SELECTOR = toFunctionSelector(
  'executeUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32)',
);

/// `executeUserOp.selector || abi.encode(Call[])`.
export function sessionCallData(calls) {
  return concat([EXECUTE_USER_OP_SELECTOR, encodeAbiParameters(CALLS_TYPE, [calls.map(callTuple)])]);
}

export function revertData(error) {
  let e = error;
  while (e) {
    if (typeof e.data === 'string' && e.data.startsWith('0x')) return e.data;
    if (typeof e.data?.data === 'string') return e.data.data;
    e = e.cause;
  }
  return null;
}

/// Decodes a revert reason recorded by UserOperationRevertReason against our ABIs.
export function decodeAccountError(data) {
  for (const name of ['LatchkeyAccount', 'Game', 'DemoToken']) {
    try {
      return decodeErrorResult({ abi: A[name].abi, data });
    } catch {
      // try the next ABI
    }
  }
  return { errorName: 'unknown', data };
}

export { privateKeyToAccount, generatePrivateKey, parseEther };

// --- shared test steps ------------------------------------------------------------------

export const SEL = {
  makeMove: toFunctionSelector('makeMove(uint256)'),
  claimReward: toFunctionSelector('claimReward()'),
  transfer: toFunctionSelector('transfer(address,uint256)'),
  transferFrom: toFunctionSelector('transferFrom(address,address,uint256)'),
  approve: toFunctionSelector('approve(address,uint256)'),
  increaseAllowance: toFunctionSelector('increaseAllowance(address,uint256)'),
  mint: toFunctionSelector('mint(address)'),
  none: '0x00000000',
};

/// Runs an owner-signed userOp and fails unless its execution succeeded.
export async function ownerDoes(env, account, calls, extra = {}) {
  const op = await env.ownerOp(account, calls, extra);
  const result = await env.handleOps([op]);
  if (result.receipt.status !== 'success' || !result.events[0]?.success) {
    const reason = result.reverts[0] ? decodeAccountError(result.reverts[0].revertReason).errorName : 'bundle reverted';
    throw new Error(`owner userOp failed: ${reason}`);
  }
  return result;
}

export function selfCall(env, account, functionName, args) {
  return { target: account.sender, data: env.encode('LatchkeyAccount', functionName, args) };
}

export async function registerSession(env, account, key, options = {}) {
  const now = await env.now();
  const validAfter = options.validAfter ?? 0;
  const validUntil = options.validUntil ?? Number(now + 86_400n);
  const maxCalls = options.maxCalls ?? 100;
  const methods = options.methods ?? [];
  await ownerDoes(env, account, [selfCall(env, account, 'registerSession', [key, validAfter, validUntil, maxCalls, methods])]);
  return env.read('LatchkeyAccount', account.sender, 'getSession', [key]);
}

export async function setSpendingCap(env, account, key, token, maxPerCall, maxPerWindow, windowSeconds) {
  await ownerDoes(env, account, [selfCall(env, account, 'setSpendingCap', [key, token, maxPerCall, maxPerWindow, windowSeconds])]);
}

/// Asserts that handleOps refuses the ops with a FailedOp whose reason starts with
/// `prefix` (or matches it, for a RegExp) (by eth_call), then mines the bundle anyway and asserts it reverted.
export async function expectFailedOp(env, ops, prefix, options = {}) {
  const error = await env.simulateHandleOps(ops, options);
  if (!error) throw new Error(`expected FailedOp ${prefix}, the bundle would succeed`);
  const reason = String(error.args?.[1]);
  const matches = prefix instanceof RegExp ? prefix.test(reason) : reason.startsWith(prefix);
  if (!['FailedOp', 'FailedOpWithRevert'].includes(error.errorName) || !matches) {
    throw new Error(`expected FailedOp ${prefix}, got ${error.errorName} ${reason}`);
  }
  const { receipt } = await env.handleOps(ops, options);
  if (receipt.status !== 'reverted') throw new Error('the refused bundle was mined successfully');
  return error;
}

/// Runs one userOp whose validation passes and whose execution must revert; returns the
/// decoded revert reason.
export async function expectExecutionRevert(env, op) {
  const { receipt, events, reverts } = await env.handleOps([op]);
  if (receipt.status !== 'success') throw new Error('bundle reverted; expected an execution revert');
  if (events[0]?.success !== false) throw new Error('execution succeeded; expected a revert');
  return decodeAccountError(reverts[0].revertReason);
}

/// What a refusal must leave untouched: balances, deposits, game and token state, every
/// listed session and cap.
export async function observe(env, account, { sessions = [], caps = [], tokenHolders = [] } = {}) {
  const sender = account.sender;
  const state = {
    eth: await env.public.getBalance({ address: sender }),
    deposit: await env.read('EntryPoint', env.entryPoint, 'balanceOf', [sender]),
    player: await env.read('Game', env.game, 'getPlayer', [sender]),
    totalMoves: await env.read('Game', env.game, 'totalMoves'),
    token: await env.read('DemoToken', env.token, 'balanceOf', [sender]),
    owner: await env.read('LatchkeyAccount', sender, 'owner'),
    counters: await env.read('LatchkeyAccount', sender, 'registrationCounters'),
    sessions: [],
    caps: [],
    holders: [],
  };
  for (const key of sessions) {
    // `active` follows the clock; everything stored is compared.
    const { active, ...stored } = await env.read('LatchkeyAccount', sender, 'getSession', [key]);
    state.sessions.push(stored);
  }
  for (const [key, token] of caps) state.caps.push(await env.read('LatchkeyAccount', sender, 'getSpendingCap', [key, token]));
  for (const [holder, spender] of tokenHolders) {
    state.holders.push([
      await env.read('DemoToken', env.token, 'balanceOf', [holder]),
      spender ? await env.read('DemoToken', env.token, 'allowance', [sender, spender]) : 0n,
      await env.public.getBalance({ address: holder }),
    ]);
  }
  return state;
}
