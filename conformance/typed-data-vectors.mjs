// Generates SNIP-12 revision 1 typed-data documents and their message hashes with
// starknet.js, for latchkey-core's conformance test. Prints one JSON array:
// [{ name, account, typedData, hash }].
//
// Usage: node typed-data-vectors.mjs [random-count] [seed]

import { constants, hash, outsideExecution, typedData } from 'starknet';

const randomCount = Number(process.argv[2] ?? 24);
let seed = Number(process.argv[3] ?? 7) >>> 0;

// Deterministic PRNG (mulberry32) so a failure reproduces.
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
function felt(bits = 251) {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(int(65536));
  v &= (1n << BigInt(bits)) - 1n;
  if (bits >= 251) v %= 0x800000000000011000000000000000000000000000000000000000000000001n;
  return '0x' + v.toString(16);
}
function ascii(len) {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-:.,!?';
  let s = '';
  for (let i = 0; i < len; i++) s += chars[int(chars.length)];
  return s;
}

const domainTypes = [
  { name: 'name', type: 'shortstring' },
  { name: 'version', type: 'shortstring' },
  { name: 'chainId', type: 'shortstring' },
  { name: 'revision', type: 'shortstring' },
];
const domain = (name, version, chainId) => ({ name, version, chainId, revision: '1' });

const docs = [];
function add(name, td, account = felt()) {
  docs.push({ name, account, typedData: td, hash: typedData.getMessageHash(td, account) });
}

// The example of the SNIP-12 text.
add('snip12-example', {
  types: {
    StarknetDomain: domainTypes,
    'Example Message': [
      { name: 'Name', type: 'string' },
      { name: 'Some Array', type: 'u128*' },
      { name: 'Some Object', type: 'My Object' },
    ],
    'My Object': [
      { name: 'Some Selector', type: 'selector' },
      { name: 'Some Contract Address', type: 'ContractAddress' },
    ],
  },
  primaryType: 'Example Message',
  domain: { name: 'Starknet Example', version: '1', chainId: 'SN_MAIN', revision: 1 },
  message: {
    Name: 'some name',
    'Some Array': [1, 2, 3, 4],
    'Some Object': { 'Some Selector': 'transfer', 'Some Contract Address': '0x0123' },
  },
});

// Every basic and preset type, with edge values.
add('all-types', {
  types: {
    StarknetDomain: domainTypes,
    Everything: [
      { name: 'felt', type: 'felt' },
      { name: 'short', type: 'shortstring' },
      { name: 'flag', type: 'bool' },
      { name: 'off', type: 'bool' },
      { name: 'empty', type: 'string' },
      { name: 'exactly31', type: 'string' },
      { name: 'long', type: 'string' },
      { name: 'sel', type: 'selector' },
      { name: 'selHex', type: 'selector' },
      { name: 'small', type: 'u128' },
      { name: 'max', type: 'u128' },
      { name: 'neg', type: 'i128' },
      { name: 'min', type: 'i128' },
      { name: 'when', type: 'timestamp' },
      { name: 'who', type: 'ContractAddress' },
      { name: 'class', type: 'ClassHash' },
      { name: 'big', type: 'u256' },
      { name: 'amount', type: 'TokenAmount' },
      { name: 'nft', type: 'NftId' },
      { name: 'felts', type: 'felt*' },
      { name: 'none', type: 'felt*' },
    ],
  },
  primaryType: 'Everything',
  domain: domain('Everything', '3', 'SN_SEPOLIA'),
  message: {
    felt: '12345678901234567890',
    short: 'hello world',
    flag: true,
    off: false,
    empty: '',
    exactly31: 'a'.repeat(31),
    long: 'the quick brown fox jumps over the lazy dog, twice over, and then some more',
    sel: 'increase_allowance',
    selHex: hash.getSelectorFromName('approve'),
    small: 7,
    max: '0xffffffffffffffffffffffffffffffff',
    neg: -42,
    min: '-170141183460469231731687303715884105728',
    when: 1893456000,
    who: '0x049D36570D4E46F48E99674BD3FCC84644DDD6B96F7C741B1562B82F9E004DC7',
    class: '0x5f488cad529bbde8cae3d33ba6133c836f95a7c10a9232942413f24470598eb',
    big: { low: '0xffffffffffffffffffffffffffffffff', high: '0x1' },
    amount: { token_address: '0x4718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d', amount: { low: 1000, high: 0 } },
    nft: { collection_address: '0x123', token_id: { low: '0x2a', high: 0 } },
    felts: ['0x1', '2', 'abc'],
    none: [],
  },
});

// Enums (with an empty variant) and a Merkle tree of structs.
add('enum-and-merkle', {
  types: {
    StarknetDomain: domainTypes,
    Order: [
      { name: 'side', type: 'enum', contains: 'Side' },
      { name: 'venue', type: 'enum', contains: 'Venue' },
      { name: 'allowed', type: 'merkletree', contains: 'Allowed Method' },
    ],
    Side: [
      { name: 'Buy', type: '()' },
      { name: 'Sell', type: '(u128,felt*)' },
    ],
    Venue: [
      { name: 'Book', type: '(ContractAddress)' },
      { name: 'Pool', type: '(u256,bool)' },
    ],
    'Allowed Method': [
      { name: 'Contract Address', type: 'ContractAddress' },
      { name: 'selector', type: 'selector' },
    ],
  },
  primaryType: 'Order',
  domain: domain('Exchange', '1', 'SN_MAIN'),
  message: {
    side: { Sell: [5, ['0x1', '0x2']] },
    venue: { Pool: [{ low: 1, high: 2 }, true] },
    allowed: [
      { 'Contract Address': '0x1', selector: 'transfer' },
      { 'Contract Address': '0x2', selector: 'approve' },
      { 'Contract Address': '0x3', selector: 'make_move' },
    ],
  },
});
add('enum-empty-variant', {
  types: {
    StarknetDomain: domainTypes,
    Vote: [{ name: 'choice', type: 'enum', contains: 'Choice' }],
    Choice: [
      { name: 'Yes', type: '()' },
      { name: 'No', type: '()' },
    ],
  },
  primaryType: 'Vote',
  domain: domain('Vote', '1', 'SN_MAIN'),
  message: { choice: { No: [] } },
});

// Nested structs and arrays of structs.
add('nested', {
  types: {
    StarknetDomain: domainTypes,
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person*' },
      { name: 'contents', type: 'string' },
      { name: 'attachments', type: 'Attachment*' },
    ],
    Person: [
      { name: 'name', type: 'shortstring' },
      { name: 'wallet', type: 'ContractAddress' },
    ],
    Attachment: [
      { name: 'title', type: 'string' },
      { name: 'size', type: 'u128' },
      { name: 'owner', type: 'Person' },
    ],
  },
  primaryType: 'Mail',
  domain: domain('Mail', '2', 'SN_SEPOLIA'),
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: [
      { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
      { name: 'Alice', wallet: '0x2' },
    ],
    contents: 'Hello, Bob!',
    attachments: [{ title: 'photo.png', size: 1024, owner: { name: 'Cow', wallet: '0x3' } }],
  },
});

// Outside executions exactly as starknet.js builds them (the Chipi SDK's path).
const oe = (calls) =>
  outsideExecution.getTypedData(
    constants.StarknetChainId.SN_SEPOLIA,
    { caller: '0x414e595f43414c4c4552', execute_after: 1, execute_before: 1893456000 },
    felt(),
    calls,
    '2'
  );
add('outside-execution-v2', oe([{ contractAddress: felt(), entrypoint: 'transfer', calldata: ['0x5a1b2c3', '1000000', '0x0'] }]));

// Random documents.
for (let i = 0; i < randomCount; i++) {
  if (i % 2 === 0) {
    const calls = [];
    for (let c = 0, n = 1 + int(4); c < n; c++) {
      const calldata = [];
      for (let k = 0, m = int(6); k < m; k++) calldata.push(felt(int(2) ? 251 : 64));
      calls.push({ contractAddress: felt(), entrypoint: ['transfer', 'approve', 'make_move', 'claim_reward'][int(4)], calldata });
    }
    add(`random-outside-execution-${i}`, oe(calls));
  } else {
    const items = [];
    for (let k = 0, m = int(5); k < m; k++) items.push({ id: int(1_000_000), tag: ascii(int(40)), ok: int(2) === 1 });
    add(`random-struct-${i}`, {
      types: {
        StarknetDomain: domainTypes,
        Batch: [
          { name: 'Label', type: 'shortstring' },
          { name: 'Items', type: 'Item*' },
          { name: 'Total', type: 'u256' },
          { name: 'Delta', type: 'i128' },
        ],
        Item: [
          { name: 'id', type: 'u128' },
          { name: 'tag', type: 'string' },
          { name: 'ok', type: 'bool' },
        ],
      },
      primaryType: 'Batch',
      domain: domain(ascii(1 + int(20)).trim() || 'x', String(int(10)), 'SN_MAIN'),
      message: {
        Label: ascii(int(31)),
        Items: items,
        Total: { low: felt(128), high: felt(int(128) + 1) },
        Delta: int(2) ? int(1e9) : -int(1e9),
      },
    });
  }
}

process.stdout.write(JSON.stringify(docs));
