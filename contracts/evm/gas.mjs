// Gas of one sponsored Game.makeMove userOp, on a fresh anvil:
//   - owner-signed on a LatchkeyAccount (execute),
//   - session-signed on the same LatchkeyAccount (execute; allowlist, counter, paymaster
//     and time-window rules),
//   - owner-signed on the npm SimpleAccount (execute),
// each measured on a later op (account deployed, player state already written), with
// preVerificationGas 0 and a call gas limit under the EntryPoint's unused-gas penalty
// threshold (40,000 gas: no limit can be more than that above the use), so actualGasUsed is
// the gas the op really used on chain.
//
//   node gas.mjs          print the numbers and the two ratios
//   node gas.mjs --json   print them as JSON
import { Env, KIND, generatePrivateKey, privateKeyToAccount } from './test/lib.mjs';

const MEASURE = { preVerificationGas: 0n, callGasLimit: 40_000n, verificationGasLimit: 150_000n };

async function run() {
  const env = await Env.create();
  try {
    const move = (n) => ({ target: env.game, data: env.encode('Game', 'makeMove', [n]) });
    const makeMoveSelector = env.encode('Game', 'makeMove', [1n]).slice(0, 10);

    // Our account, with a session allowed Game.makeMove only.
    const account = await env.newAccount();
    const session = privateKeyToAccount(generatePrivateKey());
    const until = Number((await env.now()) + 86_400n);
    const register = env.encode('LatchkeyAccount', 'registerSession', [
      session.address, 0, until, 1000, [{ target: env.game, selector: makeMoveSelector }],
    ]);
    const registration = await measure(env, await env.ownerOp(account, [{ target: account.sender, data: register }]));
    await mustSucceed(env, await env.ownerOp(account, [move(1n)]));
    // The registration started the session's nonce key, so its first userOp costs the
    // same as the later ones.
    const firstSession = await measure(env, await env.sessionOp(account.sender, session, [move(2n)], MEASURE));

    const owner = await measure(env, await env.ownerOp(account, [move(3n)], MEASURE));
    const sessionGas = await measure(env, await env.sessionOp(account.sender, session, [move(4n)], MEASURE));

    // npm SimpleAccount (ERC-1967 proxy), deployed through its first userOp.
    const simpleOwner = privateKeyToAccount(generatePrivateKey());
    const simpleFactoryData = env.encode('SimpleAccountFactory', 'createAccount', [simpleOwner.address, 0n]);
    const simpleSender = await env.read('SimpleAccountFactory', env.simpleFactory, 'getAddress', [simpleOwner.address, 0n]);
    const simpleOp = async (n, extra = {}) => {
      const callData = env.encode('SimpleAccount', 'execute', [env.game, 0n, env.encode('Game', 'makeMove', [n])]);
      const op = await env.baseOp(simpleSender, callData, extra);
      await env.sponsor(op);
      op.signature = await simpleOwner.sign({ hash: env.userOpHash(op) });
      return op;
    };
    await mustSucceed(env, await simpleOp(1n, { factory: env.simpleFactory, factoryData: simpleFactoryData }));
    const simple = await measure(env, await simpleOp(2n, MEASURE));

    return {
      ownerOp: owner,
      sessionOp: sessionGas,
      firstSessionOp: firstSession,
      registerSessionTxGas: registration.handleOpsTxGas,
      simpleAccountOwnerOp: simple,
      sessionOverOwner: Number(sessionGas.actualGasUsed) / Number(owner.actualGasUsed),
      sessionOverSimpleAccount: Number(sessionGas.actualGasUsed) / Number(simple.actualGasUsed),
    };
  } finally {
    await env.stop();
  }
}

async function mustSucceed(env, op) {
  const { events } = await env.handleOps([op]);
  if (!events[0]?.success) throw new Error('setup userOp failed');
}

async function measure(env, op) {
  const { receipt, events } = await env.handleOps([op]);
  if (!events[0]?.success) throw new Error('measured userOp failed');
  return { actualGasUsed: events[0].actualGasUsed, handleOpsTxGas: receipt.gasUsed };
}

const result = await run();
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? Number(v) : v), 2));
} else {
  const row = (label, g) => `${label.padEnd(36)} actualGasUsed ${String(g.actualGasUsed).padStart(7)}   handleOps tx gas ${g.handleOpsTxGas}`;
  console.log(row('owner userOp, LatchkeyAccount', result.ownerOp));
  console.log(row('session userOp, LatchkeyAccount', result.sessionOp));
  console.log(row('owner userOp, npm SimpleAccount', result.simpleAccountOwnerOp));
  console.log(row('first userOp of a session', result.firstSessionOp));
  console.log(`${'registerSession, 1 method (owner op)'.padEnd(36)} handleOps tx gas ${result.registerSessionTxGas}`);
  console.log(`session / owner (LatchkeyAccount)    ${result.sessionOverOwner.toFixed(3)}  (target <= 1.10)`);
  console.log(`session / SimpleAccount owner        ${result.sessionOverSimpleAccount.toFixed(3)}  (target <= 1.25)`);
}
