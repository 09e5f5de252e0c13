// The chains the server serves (`GET /api/config` → `chains`), which chain a wallet is on,
// and readable labels for chains and for the methods a session may call on each family.

import type { LatchkeyClient, SessionMethod, Wallet } from '@latchkey/sdk';
import { shortHex } from './format';
import { entrypointName, sameFelt } from './names';

/** One chain served, as `GET /api/config` lists it in `chains`. */
export interface ChainInfo {
  /** CAIP-2: `starknet:SN_SEPOLIA`, `eip155:31337`. */
  id: string;
  family: 'starknet' | 'evm';
  /** The unit fees are paid in (`FRI`, `WEI`). */
  feeUnit: string;
  demoGame: string | null;
  /** Named contracts (on EVM: `entryPoint`, `factory`, `paymaster`, `game`, `token`, `nft`). */
  contracts: Record<string, string>;
}

/** A wallet as the server lists it, with the fields of multi-chain servers. */
export type ChainWallet = Wallet & {
  /** CAIP-2 id of the wallet's chain. */
  chain?: string;
  /** No owner key is stored: the owner signs with a wallet of its own (EVM). */
  externalOwner?: boolean;
};

/** The served chains, default first. A server that lists none serves its one Starknet chain. */
export async function loadChains(client: LatchkeyClient): Promise<ChainInfo[]> {
  const config = (await client.config()) as Awaited<ReturnType<LatchkeyClient['config']>> & {
    chains?: Partial<ChainInfo>[];
  };
  const listed = (config.chains ?? []).flatMap((c): ChainInfo[] =>
    typeof c.id === 'string' && (c.family === 'starknet' || c.family === 'evm')
      ? [
          {
            id: c.id,
            family: c.family,
            feeUnit: c.feeUnit ?? (c.family === 'evm' ? 'WEI' : 'FRI'),
            demoGame: c.demoGame ?? null,
            contracts: c.contracts ?? {},
          },
        ]
      : [],
  );
  if (listed.length > 0) return listed;
  return [
    {
      id: `starknet:${config.chainId ?? 'unknown'}`,
      family: 'starknet',
      feeUnit: 'FRI',
      demoGame: config.demoGame,
      contracts: {},
    },
  ];
}

/** The chain a wallet is on: its `chain`, else (older servers) guessed from its type. */
export function chainOf(wallet: ChainWallet, chains: ChainInfo[]): ChainInfo | null {
  if (wallet.chain) return chains.find((c) => c.id === wallet.chain) ?? null;
  const family = isEvmWallet(wallet, null) ? 'evm' : 'starknet';
  return chains.find((c) => c.family === family) ?? null;
}

/** Whether the wallet is an EVM smart account. */
export function isEvmWallet(wallet: ChainWallet, chain: ChainInfo | null): boolean {
  if (chain) return chain.family === 'evm';
  if (wallet.chain) return wallet.chain.startsWith('eip155:');
  return wallet.walletType === 'ERC4337' || /^0x[0-9a-fA-F]{40}$/.test(wallet.address);
}

/** "EVM · eip155:31337", "Starknet · SN_SEPOLIA". */
export function chainLabel(chain: ChainInfo | null, wallet: ChainWallet): string {
  const id = chain?.id ?? wallet.chain;
  const family = chain?.family ?? (isEvmWallet(wallet, null) ? 'evm' : 'starknet');
  const name = family === 'evm' ? 'EVM' : 'Starknet';
  if (!id) return name;
  return `${name} · ${family === 'starknet' ? id.replace(/^starknet:/, '') : id}`;
}

/** Solidity signatures of the demo contracts and common token methods, by selector. */
const KNOWN_SIGNATURES: Record<string, string> = {
  '0xabd9f461': 'makeMove(uint256)',
  '0xb88a802f': 'claimReward()',
  '0xa9059cbb': 'transfer(address,uint256)',
  '0x23b872dd': 'transferFrom(address,address,uint256)',
  '0x095ea7b3': 'approve(address,uint256)',
  '0x39509351': 'increaseAllowance(address,uint256)',
  '0x6a627842': 'mint(address)',
  '0x40c10f19': 'mint(address,uint256)',
  '0x42842e0e': 'safeTransferFrom(address,address,uint256)',
};

/** The Solidity signature of a 4-byte selector when it is a known one, else the selector. */
export function solidityName(selector: string): string {
  return KNOWN_SIGNATURES[selector.toLowerCase()] ?? selector;
}

function sameAddress(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/** A contract's name on the chain: `game`, a named contract, `any contract`, or its short address. */
export function contractLabel(contract: string, chain: ChainInfo | null, evm: boolean): string {
  if (evm) {
    if (sameAddress(contract, chain?.demoGame)) return 'game';
    if (/^0x0*$/.test(contract)) return 'any contract';
    const named = Object.entries(chain?.contracts ?? {}).find(([, address]) => sameAddress(address, contract));
    return named ? named[0] : shortHex(contract, 4);
  }
  if (sameFelt(contract, chain?.demoGame)) return 'game';
  if (sameFelt(contract, '0x0')) return 'any contract';
  return shortHex(contract, 4);
}

/** `game.makeMove(uint256)`, `game.make_move`, `0x1234…abcd.0x…`. */
export function methodLabel(method: SessionMethod, chain: ChainInfo | null, evm: boolean): string {
  const name = evm ? solidityName(method.selector) : entrypointName(method.selector);
  return `${contractLabel(method.contract, chain, evm)}.${name}`;
}
