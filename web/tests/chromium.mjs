// How every browser test launches Debian's Chromium: headless and off the network. No
// imports, so scripts outside web/ (examples/) can use it without web's packages.

/** Launch options for playwright-core's `chromium.launch`. */
export function chromiumLaunchOptions() {
  return {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Off the network: no background services, no component updates, no QUIC.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-extensions',
      '--metrics-recording-only',
    ],
  };
}
