// What a Wi-Fi network name and a WPA-personal key may be, checked the same way wherever one comes
// from: the ESP's network page, `selfdeploy deploy --wifi-ssid/--wifi-key-file`, the system's join.

/** Why `ssid` cannot name a network (1 to 32 bytes of UTF-8), or null. */
export function ssidProblem(ssid: string): string | null {
  const bytes = Buffer.byteLength(ssid, 'utf8');
  return bytes < 1 || bytes > 32 ? 'an SSID has 1 to 32 characters (at most 32 bytes of UTF-8)' : null;
}

/** Why `psk` cannot be a WPA passphrase (8 to 63 printable ASCII characters), or null. */
export function passphraseProblem(psk: string): string | null {
  if (psk.length < 8 || psk.length > 63) return `a Wi-Fi key has 8 to 63 characters, not ${psk.length}`;
  if (/[^\x20-\x7e]/.test(psk)) return 'a Wi-Fi key has printable ASCII characters only, on one line';
  return null;
}
