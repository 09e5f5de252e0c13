// EntryPoint placement, hashing cross-checks, the factory and the deployment of an
// account through its first (sponsored) userOp.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { entryPoint08Address } from 'viem/account-abstraction';
import { encodeAbiParameters, getContractAddress, keccak256, toPackedUserOperation } from './viem.mjs';
import {
  A,
  CREATE2_PROXY,
  ENTRY_POINT_ADDRESS,
  ENTRY_POINT_SALT,
  Env,
  KIND,
  SENDER_CREATOR_ADDRESS,
  SEL,
  generatePrivateKey,
  ownerDoes,
  privateKeyToAccount,
  sessionCallData,
} from './lib.mjs';

let env;
before(async () => {
  env = await Env.create();
});
after(async () => {
  await env?.stop();
});

describe('EntryPoint v0.8 at its canonical address', () => {
  test('CREATE2(deterministic proxy, canonical salt, npm initcode) is the canonical address', async () => {
    assert.equal(entryPoint08Address, ENTRY_POINT_ADDRESS);
    assert.equal(
      getContractAddress({ opcode: 'CREATE2', from: CREATE2_PROXY, salt: ENTRY_POINT_SALT, bytecode: A.EntryPoint.bytecode }),
      ENTRY_POINT_ADDRESS,
    );
    // Deployed code equals the artifact's runtime code up to immutables (same length).
    const code = await env.public.getCode({ address: ENTRY_POINT_ADDRESS });
    assert.equal(code.length, A.EntryPoint.deployedBytecode.length);
    assert.equal(await env.read('EntryPoint', env.entryPoint, 'senderCreator'), SENDER_CREATOR_ADDRESS);
    const creatorCode = await env.public.getCode({ address: SENDER_CREATOR_ADDRESS });
    assert.equal(creatorCode.length, A.SenderCreator.deployedBytecode.length);
    assert.equal(
      (await env.public.readContract({
        address: SENDER_CREATOR_ADDRESS,
        abi: A.SenderCreator.abi,
        functionName: 'entryPoint',
      })),
      ENTRY_POINT_ADDRESS,
    );
  });

  test('viem getUserOperationHash equals EntryPoint.getUserOpHash, with and without factory and paymaster', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const sender = await env.accountAddress(owner.address, 7n);
    const plain = await env.baseOp(sender, '0x1234');
    const withFactory = await env.baseOp(sender, sessionCallData([{ target: env.game, data: SEL.makeMove }]), {
      factory: env.factory,
      factoryData: env.encode('LatchkeyAccountFactory', 'createAccount', [owner.address, 7n]),
      nonceKey: 5n,
    });
    const sponsored = await env.sponsor(await env.baseOp(sender, '0xabcdef'));
    for (const op of [plain, withFactory, sponsored]) {
      const onChain = await env.read('EntryPoint', env.entryPoint, 'getUserOpHash', [toPackedUserOperation(op)]);
      assert.equal(env.userOpHash(op), onChain);
    }
  });

  test('LatchkeyPaymaster.getHash equals the hash the signer signs', async () => {
    const op = await env.sponsor(await env.baseOp(env.game, '0x42', { nonce: 3n }));
    const onChain = await env.read('LatchkeyPaymaster', env.paymaster, 'getHash', [toPackedUserOperation(op), 1234n, 56n]);
    assert.equal(env.paymasterHash(op, 1234n, 56n), onChain);
  });
});

describe('LatchkeyAccountFactory', () => {
  test('an account is deployed at its counterfactual address by its first sponsored userOp', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const sender = await env.accountAddress(owner.address, 1n);
    assert.equal(await env.isDeployed(sender), false);
    const pmDeposit = await env.read('EntryPoint', env.entryPoint, 'balanceOf', [env.paymaster]);
    const op = await env.ownerOp({ sender, owner }, [{ target: env.game, data: env.encode('Game', 'makeMove', [5n]) }], {
      factory: env.factory,
      factoryData: env.encode('LatchkeyAccountFactory', 'createAccount', [owner.address, 1n]),
    });
    const { events } = await env.handleOps([op]);
    assert.equal(events[0].success, true);
    assert.equal(await env.isDeployed(sender), true);
    assert.equal(await env.read('LatchkeyAccount', sender, 'owner'), owner.address);
    assert.equal((await env.read('Game', env.game, 'getPlayer', [sender])).moves, 1);
    // Gasless for the account: it holds no ETH and the paymaster paid.
    assert.equal(await env.public.getBalance({ address: sender }), 0n);
    assert.equal(await env.read('EntryPoint', env.entryPoint, 'balanceOf', [sender]), 0n);
    assert.ok((await env.read('EntryPoint', env.entryPoint, 'balanceOf', [env.paymaster])) < pmDeposit);
    // The proxy is an EIP-1167 clone of the factory's implementation.
    const implementation = await env.read('LatchkeyAccountFactory', env.factory, 'accountImplementation');
    const code = await env.public.getCode({ address: sender });
    assert.equal(code.toLowerCase(), `0x363d3d373d3d3d363d73${implementation.slice(2).toLowerCase()}5af43d82803e903d91602b57fd5bf3`);
  });

  test('the counterfactual address is CREATE2(factory, keccak256(abi.encode(owner, salt)), EIP-1167 initcode)', async () => {
    const implementation = await env.read('LatchkeyAccountFactory', env.factory, 'accountImplementation');
    const initCode = `0x3d602d80600a3d3981f3363d3d373d3d3d363d73${implementation.slice(2)}5af43d82803e903d91602b57fd5bf3`;
    for (const [owner, salt] of [
      [privateKeyToAccount(generatePrivateKey()).address, 0n],
      [privateKeyToAccount(generatePrivateKey()).address, 2n ** 200n + 5n],
    ]) {
      const salt32 = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [owner, salt]));
      assert.equal(
        getContractAddress({ opcode: 'CREATE2', from: env.factory, salt: salt32, bytecode: initCode }),
        await env.accountAddress(owner, salt),
      );
    }
  });

  test('createAccount is idempotent and binds the owner into the address', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const predicted = await env.accountAddress(owner.address, 9n);
    assert.notEqual(predicted, await env.accountAddress(other.address, 9n));
    assert.notEqual(predicted, await env.accountAddress(owner.address, 10n));
    const create = env.encode('LatchkeyAccountFactory', 'createAccount', [owner.address, 9n]);
    const first = await env.public.call({ to: env.factory, data: create });
    assert.equal(`0x${first.data.slice(26)}`.toLowerCase(), predicted.toLowerCase());
    assert.equal((await env.send(env.factory, create)).status, 'success');
    const receipt = await env.send(env.factory, create);
    assert.equal(receipt.status, 'success');
    assert.equal(receipt.logs.length, 0, 'a second createAccount deploys nothing');
    assert.equal(await env.read('LatchkeyAccount', predicted, 'owner'), owner.address);
  });

  test('the implementation and a deployed account cannot be initialised by anyone', async () => {
    const implementation = await env.read('LatchkeyAccountFactory', env.factory, 'accountImplementation');
    assert.equal(await env.read('LatchkeyAccount', implementation, 'owner'), '0x0000000000000000000000000000000000000000');
    const attacker = env.bundler.address;
    for (const target of [implementation, (await env.newAccount()).sender]) {
      const receipt = await env.send(target, env.encode('LatchkeyAccount', 'initialize', [attacker]));
      assert.equal(receipt.status, 'reverted');
    }
    assert.equal(await env.read('LatchkeyAccount', implementation, 'owner'), '0x0000000000000000000000000000000000000000');
  });

  test('ERC-165 reports the account interfaces', async () => {
    const { sender } = await env.newAccount();
    const ids = {
      erc165: '0x01ffc9a7',
      erc1271: '0x1626ba7e',
      iAccount: '0x19822f7c',
      iAccountExecute: '0x8dd7712f',
      erc721Receiver: '0x150b7a02',
    };
    for (const [name, id] of Object.entries(ids)) {
      assert.equal(await env.read('LatchkeyAccount', sender, 'supportsInterface', [id]), true, name);
    }
    assert.equal(await env.read('LatchkeyAccount', sender, 'supportsInterface', ['0xffffffff']), false);
    assert.equal(await env.read('LatchkeyAccount', sender, 'supportsInterface', ['0x12345678']), false);
  });

  test('a SimpleAccount from the npm package deploys and runs on the same EntryPoint', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const sender = await env.read('SimpleAccountFactory', env.simpleFactory, 'getAddress', [owner.address, 0n]);
    const callData = env.encode('SimpleAccount', 'execute', [env.game, 0n, env.encode('Game', 'makeMove', [1n])]);
    const op = await env.sponsor(
      await env.baseOp(sender, callData, {
        factory: env.simpleFactory,
        factoryData: env.encode('SimpleAccountFactory', 'createAccount', [owner.address, 0n]),
      }),
    );
    op.signature = await owner.sign({ hash: env.userOpHash(op) });
    const { events } = await env.handleOps([op]);
    assert.equal(events[0].success, true);
    assert.equal((await env.read('Game', env.game, 'getPlayer', [sender])).moves, 1);
  });

  test('an account deployed without a paymaster pays its own prefund (owner signature)', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const sender = await env.accountAddress(owner.address, 0n);
    await env.send(sender, '0x', 10n ** 17n);
    const op = await env.ownerOp({ sender, owner }, [], {
      sponsor: false,
      kind: KIND.ownerEip191,
      factory: env.factory,
      factoryData: env.encode('LatchkeyAccountFactory', 'createAccount', [owner.address, 0n]),
    });
    const { events } = await env.handleOps([op]);
    assert.equal(events[0].success, true);
    assert.ok((await env.public.getBalance({ address: sender })) < 10n ** 17n);
    await ownerDoes(env, { sender, owner }, [{ target: env.game, data: env.encode('Game', 'makeMove', [3n]) }]);
  });
});
