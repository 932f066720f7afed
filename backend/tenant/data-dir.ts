// The service's data directory: its configuration, certificates and private keys (mode 0600,
// directory 0700), and the SQLite database by default. Replicas on PostgreSQL share a copy of
// it (read-only) for the keys and configuration.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { ServiceError } from '../errors.js';
import { PublicUrlSchema } from './public-urls.js';

/** The service log's levels, most to least severe (pino's); silent logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ServiceConfigSchema = z.object({
  version: z.literal(1),
  /** sqlite:PATH (relative to the data directory) or postgres://… */
  db: z.string().min(1),
  /** HOST:PORT to listen on. */
  listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT'),
  /** Requests per minute one client address may make to the device API. */
  deviceRateLimitPerMinute: z.number().int().min(1).max(100_000).default(120),
  /** Failed admin-token checks one client address may make per minute before it waits out the minute (429). */
  adminAuthFailuresPerMinute: z.number().int().min(1).max(10_000).default(10),
  /** Behind a load balancer: true, or the proxies' addresses, so rate limits see each device. */
  trustProxy: z.union([z.boolean(), z.array(z.string().min(1)).max(64)]).default(false),
  /**
   * The https:// origins devices reach the service at: a client assertion must be for the token
   * endpoint at one of them. Absent: the names the HTTPS certificate covers, at the port the
   * service listens on (derived at each start).
   */
  publicUrls: z.array(PublicUrlSchema).min(1).max(32).optional(),
  /** How much the service logs (start --log-level overrides it). */
  logLevel: z.enum(LOG_LEVELS).default('info'),
});

export type ServiceConfig = z.output<typeof ServiceConfigSchema>;

export const DEFAULT_LISTEN = '127.0.0.1:8443';

export class DataDir {
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  get configPath(): string {
    return join(this.path, 'config.json');
  }
  /** What agents and admin clients trust: the CA of the HTTPS certificate. */
  get serviceCaPath(): string {
    return join(this.path, 'service-ca.pem');
  }
  get serviceCaKeyPath(): string {
    return join(this.path, 'tls', 'service-ca-key.pem');
  }
  get tlsCertPath(): string {
    return join(this.path, 'tls', 'server.pem');
  }
  get tlsKeyPath(): string {
    return join(this.path, 'tls', 'server-key.pem');
  }
  get deviceCaPath(): string {
    return join(this.path, 'device-ca', 'ca.pem');
  }
  get deviceCaKeyPath(): string {
    return join(this.path, 'device-ca', 'ca-key.pem');
  }

  /** The device CA that signs device certificates. */
  deviceCa(): { certificatePem: string; privateKeyPem: string } {
    return { certificatePem: this.read(this.deviceCaPath, 'device CA certificate'), privateKeyPem: this.read(this.deviceCaKeyPath, 'device CA key') };
  }

  get initialized(): boolean {
    return existsSync(this.configPath);
  }

  create(): void {
    mkdirSync(this.path, { recursive: true, mode: 0o700 });
    chmodSync(this.path, 0o700);
    for (const sub of ['tls', 'device-ca']) mkdirSync(join(this.path, sub), { recursive: true, mode: 0o700 });
  }

  /** Writes atomically (temp file + rename), so a crash never leaves half a key or config. */
  write(path: string, content: string | Uint8Array, mode: number): void {
    const temp = `${path}.tmp-${process.pid}`;
    writeFileSync(temp, content, { mode });
    chmodSync(temp, mode);
    renameSync(temp, path);
  }

  read(path: string, what: string): string {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new ServiceError('SERVICE_CONFIG_INVALID', `cannot read the ${what} at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  readConfig(): ServiceConfig {
    if (!this.initialized) throw new ServiceError('TENANT_NOT_INITIALIZED', `${this.path} is not a selfdeploy data directory (no config.json); run selfdeploy-server init`);
    let raw: unknown;
    try {
      raw = JSON.parse(this.read(this.configPath, 'configuration'));
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      throw new ServiceError('SERVICE_CONFIG_INVALID', `${this.configPath} is not JSON`);
    }
    const parsed = ServiceConfigSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ServiceError('SERVICE_CONFIG_INVALID', `${this.configPath}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  writeConfig(config: ServiceConfig): void {
    this.write(this.configPath, JSON.stringify(config, null, 2) + '\n', 0o600);
  }
}
