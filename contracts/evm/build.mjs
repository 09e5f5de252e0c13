// Compiles latchkey's EVM contracts with the pinned solc-js and writes build/.
//
//   node build.mjs         compile and write build/<Name>.json and build/manifest.json
//   node build.mjs check   compile in memory; exit 1 if any file in build/ differs
//
// Artifacts hold { contractName, sourceName, abi, bytecode, deployedBytecode }. EntryPoint
// v0.8, SenderCreator, SimpleAccount and SimpleAccountFactory are copied from the npm
// package @account-abstraction/contracts (their published, canonical bytecode).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const buildDir = join(here, 'build');
const srcDir = join(here, 'src');

const SOLC_VERSION = '0.8.28';
const SETTINGS = {
  evmVersion: 'cancun',
  viaIR: false,
  optimizer: { enabled: true, runs: 1000000 },
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};
/// Our contracts (source file => contract names written to build/).
const OWN = {
  'src/LatchkeyAccount.sol': ['LatchkeyAccount'],
  'src/LatchkeyAccountFactory.sol': ['LatchkeyAccountFactory'],
  'src/LatchkeyPaymaster.sol': ['LatchkeyPaymaster'],
  'src/Game.sol': ['Game'],
  'src/DemoToken.sol': ['DemoToken'],
  'src/DemoNft.sol': ['DemoNft'],
};
/// Artifacts taken as published by @account-abstraction/contracts.
const NPM_ARTIFACTS = ['EntryPoint', 'SenderCreator', 'SimpleAccount', 'SimpleAccountFactory'];
const AA_PACKAGE = '@account-abstraction/contracts';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const json = (value) => JSON.stringify(value, null, 2) + '\n';

function packageVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
}

function loadSolc() {
  const solc = require('solc');
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc-js ${version} is installed, ${SOLC_VERSION} is pinned: run npm ci`);
  }
  return solc;
}

/// Every file under src/ plus everything it imports from node_modules, keyed by import path.
function collectSources() {
  const sources = {};
  const pending = readdirSync(srcDir)
    .filter((f) => f.endsWith('.sol'))
    .sort()
    .map((f) => `src/${f}`);
  const resolve = (path) => (path.startsWith('src/') ? join(here, path) : require.resolve(path));
  while (pending.length) {
    const path = pending.shift();
    if (sources[path]) continue;
    const content = readFileSync(resolve(path), 'utf8');
    sources[path] = { content };
    for (const match of content.matchAll(/^\s*import\s+(?:[^"']*from\s+)?["']([^"']+)["']/gm)) {
      let target = match[1];
      if (target.startsWith('.')) target = join(dirname(path), target).replaceAll('\\', '/');
      if (!sources[target]) pending.push(target);
    }
  }
  return Object.fromEntries(Object.keys(sources).sort().map((k) => [k, sources[k]]));
}

function compile() {
  const solc = loadSolc();
  const sources = collectSources();
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const started = Date.now();
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import: (path) => ({ error: `import not collected: ${path}` }),
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) {
    throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  }
  for (const warning of output.errors ?? []) {
    // solc warns on every TSTORE; LatchkeyAccount keys its transient entries by userOpHash
    // and clears each one in the same transaction (see its doc comment).
    if (warning.message.startsWith('Transient storage as defined by EIP-1153')) continue;
    if (warning.severity === 'warning' && warning.sourceLocation?.file?.startsWith('src/')) {
      process.stderr.write(warning.formattedMessage + '\n');
    }
  }

  const files = {};
  const artifactHashes = {};
  for (const [sourceName, names] of Object.entries(OWN)) {
    for (const contractName of names) {
      const c = output.contracts?.[sourceName]?.[contractName];
      if (!c) throw new Error(`${sourceName}:${contractName} missing from solc output`);
      files[`${contractName}.json`] = json({
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
      });
    }
  }
  for (const contractName of NPM_ARTIFACTS) {
    const a = JSON.parse(readFileSync(require.resolve(`${AA_PACKAGE}/artifacts/${contractName}.json`), 'utf8'));
    files[`${contractName}.json`] = json({
      contractName,
      sourceName: `${AA_PACKAGE}@${packageVersion(AA_PACKAGE)}/${a.sourceName}`,
      abi: a.abi,
      bytecode: a.bytecode,
      deployedBytecode: a.deployedBytecode,
    });
  }
  for (const [name, text] of Object.entries(files)) artifactHashes[name] = sha256(text);

  const manifest = {
    solc: solc.version(),
    settings: SETTINGS,
    packages: Object.fromEntries(
      ['solc', AA_PACKAGE, '@openzeppelin/contracts'].map((p) => [p, packageVersion(p)]),
    ),
    npmArtifacts: NPM_ARTIFACTS,
    sources: Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, sha256(v.content)])),
    artifacts: artifactHashes,
  };
  files['manifest.json'] = json(manifest);
  return { files, seconds };
}

function main() {
  const mode = process.argv[2] ?? 'build';
  if (mode !== 'build' && mode !== 'check') {
    console.error('usage: node build.mjs [check]');
    process.exit(2);
  }
  const { files, seconds } = compile();
  if (mode === 'build') {
    mkdirSync(buildDir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(buildDir, name), text);
    console.log(`compiled in ${seconds.toFixed(1)} s; wrote ${Object.keys(files).length} files to build/`);
    return;
  }
  const stale = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(buildDir, name);
    if (!existsSync(path)) stale.push(`${name}: missing`);
    else if (readFileSync(path, 'utf8') !== text) stale.push(`${name}: differs`);
  }
  const expected = new Set(Object.keys(files));
  if (existsSync(buildDir)) {
    for (const name of readdirSync(buildDir)) if (!expected.has(name)) stale.push(`${name}: not produced by the build`);
  }
  if (stale.length) {
    console.error(`contracts/evm/build is stale (run \`node build.mjs\` in contracts/evm and commit build/):`);
    for (const line of stale) console.error(`  ${line}`);
    process.exit(1);
  }
  console.log(`build/ is up to date (${Object.keys(files).length} files; compiled in ${seconds.toFixed(1)} s)`);
}

main();
