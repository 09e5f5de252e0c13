'use client';

import { useMemo } from 'react';
import { ChipiProvider } from '@chipi-stack/nextjs/client';

/** Chipi's provider, pointed at latchkey through `alphaUrl`. Only the public key reaches the browser. */
export function Providers({ apiPublicKey, alphaUrl, children }) {
  // A stable object: the provider makes a new SDK whenever its config changes.
  const config = useMemo(() => ({ apiPublicKey, alphaUrl }), [apiPublicKey, alphaUrl]);
  return <ChipiProvider config={config}>{children}</ChipiProvider>;
}
