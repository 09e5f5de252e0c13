// Chipi's shared package reads STARKNET_RPC_URL once, when it loads, in the browser too
// (`process.env.STARKNET_RPC_URL`): `env` writes its value into the bundles at build time.
// latchkey serves read-only chain calls on its own origin, at /rpc/starknet.
const rpc =
  process.env.STARKNET_RPC_URL ||
  (process.env.LATCHKEY_URL ? `${process.env.LATCHKEY_URL.replace(/\/$/, '')}/rpc/starknet` : '');
if (!rpc) {
  throw new Error('set LATCHKEY_URL (or STARKNET_RPC_URL) when building: the browser reads the chain there');
}

/** @type {import('next').NextConfig} */
const nextConfig = {
  env: { STARKNET_RPC_URL: rpc },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
