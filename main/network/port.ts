// The device's network as the engine's network step and the OOBE's network page see it: which
// medium carries the default route, name resolution, and Wi-Fi (NetworkManager on devices).
// system.ts is the real one.

export interface NetworkStatus {
  medium: 'wired' | 'wireless' | 'none';
  /** The interface carrying the default route. */
  interface: string | null;
}

/** A Wi-Fi network in range, as the OOBE's network page lists it. */
export interface WifiNetwork {
  ssid: string;
  security: 'open' | 'wpa2' | 'wpa3' | 'enterprise';
  /** 0–100. */
  signal: number;
  connected: boolean;
}

export interface NetworkPort {
  /** The medium of the interface that carries the default route, if any. */
  status(): Promise<NetworkStatus>;
  /** Resolves a host name; rejects with the resolver's error code. */
  resolve(host: string): Promise<string[]>;
  /** Connects to Wi-Fi (NetworkManager on devices); the profile's network items use the providers. */
  connectWifi?(ssid: string, psk: string | null): Promise<void>;
  /** The networks in range (the OOBE network page). */
  scanWifi?(): Promise<WifiNetwork[]>;
}
