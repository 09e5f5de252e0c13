import { Providers } from './providers';
import './style.css';

export const metadata = { title: 'Chipi hooks on latchkey' };
// Read the environment on every request, not once at build time.
export const dynamic = 'force-dynamic';

/** The Chipi API this app talks to: latchkey's, from the server's environment. */
function chipiConfig() {
  const alphaUrl = process.env.LATCHKEY_URL;
  const apiPublicKey = process.env.LATCHKEY_PUBLIC_KEY;
  if (!alphaUrl || !apiPublicKey) {
    throw new Error('set LATCHKEY_URL and LATCHKEY_PUBLIC_KEY (what `latchkey serve` prints)');
  }
  return { alphaUrl, apiPublicKey };
}

export default function RootLayout({ children }) {
  const { alphaUrl, apiPublicKey } = chipiConfig();
  return (
    <html lang="en">
      <body>
        <Providers alphaUrl={alphaUrl} apiPublicKey={apiPublicKey}>
          {children}
        </Providers>
      </body>
    </html>
  );
}
