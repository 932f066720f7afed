// The lab's load balancer: Debian's HAProxy in front of service replicas, as docs/operations.md
// shows the topology — TLS ends at HAProxy with the service's own certificate (agents trust the
// service CA as before), each request goes to a ready replica (health check: /v1/health/ready over
// HTTPS, the service CA verified) with X-Forwarded-For, and a request that cannot reach a replica
// is sent to another.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { device } from '../protocol/api/endpoints.js';
import { DataDir } from '../backend/tenant/data-dir.js';
import { freePort } from './net.js';
import { stopProcess } from './service-process.js';

export const HAPROXY = '/usr/sbin/haproxy';

export interface LoadBalancer {
  url: URL;
  stop(): Promise<void>;
}

/** The HAProxy configuration for `replicas` (HOST:PORT) behind `listen`, files in `dir`. */
export function haproxyConfig(options: { listen: string; certificate: string; ca: string; replicas: readonly string[] }): string {
  return [
    'global',
    '  maxconn 4096',
    '  log stderr format short local0 info',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  retries 3',
    '  option redispatch',
    '  option forwardfor',
    '  log global',
    '  option log-health-checks',
    'frontend devices',
    `  bind ${options.listen} ssl crt ${options.certificate}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    `  option httpchk GET ${device.readiness.path}`,
    '  http-check expect status 200',
    `  default-server check inter 300ms fall 2 rise 2 ssl verify required ca-file ${options.ca}`,
    ...options.replicas.map((replica, i) => `  server replica${i + 1} ${replica}`),
    '',
  ].join('\n');
}

/** Starts HAProxy for the service in `dataDir` in front of `replicas`; resolves once it listens. */
export async function startLoadBalancer(dataDir: string, replicas: readonly URL[], port?: number): Promise<LoadBalancer> {
  if (!existsSync(HAPROXY)) throw new Error('HAProxy is not installed (Debian: apt-get install haproxy); npm test installs it as root');
  const data = new DataDir(dataDir);
  const listen = port ?? (await freePort());
  // HAProxy takes the chain and its key in one file.
  const certificate = join(dataDir, 'haproxy.pem');
  writeFileSync(certificate, readFileSync(data.tlsCertPath, 'utf8') + readFileSync(data.tlsKeyPath, 'utf8'), { mode: 0o600 });
  const config = join(dataDir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig({ listen: `127.0.0.1:${listen}`, certificate, ca: data.serviceCaPath, replicas: replicas.map((url) => url.host) }));
  const child: ChildProcess = spawn(HAPROXY, ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const url = new URL(`https://127.0.0.1:${listen}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`HAProxy exited with ${child.exitCode}: ${log}`);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(listen, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (listening) break;
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`HAProxy did not listen within 15 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, stop: () => stopProcess(child) };
}
