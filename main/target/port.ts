// The target a provider changes, as a port: a root directory ("/" on a device, a scratch directory
// in tests and the lab) whose every change is recorded so it can be undone. `Target` (target.ts)
// carries it out in this process; `HelperTarget` (main/helper/client.ts) asks selfdeploy-helper.

export interface UndoReport {
  restored: number;
  removed: number;
  commands: number;
  /** What could not be put back, and why (a directory someone filled since, a command that failed). */
  left: string[];
  /** What setup did that has no inverse, named: the changes scripts and shell installers made themselves. */
  notUndone: string[];
}

/** A file as the providers see it when they check what is in place. */
export interface TargetStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** A symlink's target. */
  link?: string;
}

/** Who owns a file: numeric, as resolved from the target's own /etc/passwd and /etc/group. */
export interface Owner {
  uid: number;
  gid: number;
}

/** Downloaded content handed to the target: the target copies it privately and checks the digest itself. */
export interface VerifiedContent {
  file: string;
  sha256: string;
  /** The agent's bearer token: the privileged helper asks the service whether the content is assigned. */
  token?: string;
}

/** How an installer's exit status (0–255) reads: which statuses mean success, which "restart required". */
export interface ExitCodes {
  success: number[];
  rebootRequired: number[];
}

export interface ScriptRun extends VerifiedContent {
  interpreter: 'sh' | 'bash';
  timeoutSeconds: number;
  /** Device path of the log that keeps its output (size-capped). */
  logPath: string;
  name: string;
  /** Default: 0 is success, nothing else. */
  exitCodes?: ExitCodes;
}

export interface PackageInstall extends VerifiedContent {
  /** deb: dpkg/apt on the live system, unpacked and placed in a scratch target; tar: unpacked into `destination`. */
  format: 'deb' | 'tar';
  destination: string;
  name: string;
  timeoutSeconds: number;
  /** Device path of the log that keeps the installer's output (apt on the live system), under /var/log/selfdeploy. */
  logPath: string;
}

/**
 * The distribution's updates the "Critical updates" step applies: upgrades of installed packages
 * only, from the repositories the system already has — its pending security updates, or the named
 * packages to their newest version.
 */
export interface OsUpdateRequest {
  mode: 'security' | 'packages';
  /** With mode "packages": which (Debian package names). */
  packages: string[];
  timeoutSeconds: number;
  /** Device path of apt's log (under /var/log/selfdeploy). */
  logPath: string;
}

export interface OsUpdateResult {
  upgraded: { name: string; from: string; to: string }[];
  /** A package asked for a restart (/run/reboot-required). */
  rebootRequired: boolean;
}

/** What an installer or script left behind. */
export interface RunOutcome {
  rebootRequired: boolean;
}

export const DEFAULT_EXIT_CODES: ExitCodes = { success: [0], rebootRequired: [] };

/** Debian's convention: whatever needs the system restarted creates this file (update-notifier-common). */
export const REBOOT_REQUIRED = '/run/reboot-required';

/** Where a joined device keeps its computer account's keys (root's alone). */
export const KEYTAB = '/etc/krb5.keytab';

/** A join to an Active Directory domain, as adcli makes it: the computer account and its keytab. */
export interface DomainJoin {
  /** The domain's DNS name (lower case). */
  domain: string;
  /** The domain controller to join through; null: one DNS names. */
  domainController: string | null;
  /** The OU the computer account goes into; null: the domain's Computers container. */
  organizationalUnit: string | null;
  /** The computer account's name: the device's name in capitals, at most 15 characters (NetBIOS). */
  computerName: string;
  /** The device's name in the domain: its host name, then the domain. */
  hostFqdn: string;
  /** The account allowed to join computers. */
  user: string;
  /** Its password: given to adcli on its standard input, never written or logged. */
  password: string;
}

/**
 * What providers change the device through: in-process under a target root (`Target`: tests, the
 * lab), or the privileged helper on a device (`HelperTarget`). Every method checks its paths.
 */
export interface TargetPort {
  /** Whether this is the running system (commands run only then). */
  readonly live: boolean;
  /** Without `owner`, a file keeps the owner it had (a new file: the target's user). */
  writeFile(item: string, path: string, content: string | Uint8Array, mode?: number, owner?: Owner): Promise<boolean>;
  writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean>;
  /** Creates a directory (and missing parents); `owner` is given to the directory itself when it is created. */
  ensureDir(item: string, path: string, mode?: number, owner?: Owner): Promise<void>;
  command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean>;
  /**
   * Joins the device to an Active Directory domain on the live system (adcli join, the password on
   * its standard input): true when it joined now; false in a scratch target, or when selfdeploy
   * already joined it to this domain under this name and the keytab is there. Undone by removing
   * the keytab.
   */
  joinDomain(item: string, join: DomainJoin): Promise<boolean>;
  /** Throws ITEM_PATH_REFUSED unless `path` (and, for a symlink, its target) stays inside. */
  check(path: string, linkTarget?: string): Promise<void>;
  readFile(path: string): Promise<Buffer | null>;
  stat(path: string): Promise<TargetStat | null>;
  runScript(item: string, script: ScriptRun): Promise<RunOutcome>;
  installPackage(item: string, install: PackageInstall): Promise<RunOutcome>;
  /** Applies the distribution's updates on the live system (nothing in a scratch target). */
  upgradePackages(request: OsUpdateRequest): Promise<OsUpdateResult>;
  /**
   * Restarts the device for updates that need it (only while /run/reboot-required says so), where
   * a service manager can (systemd); false where it cannot — the host then says to restart.
   */
  reboot(): Promise<boolean>;
  /** Whether a detection command exits 0 (run without privileges where the executor has them). */
  probe(argv: [string, ...string[]], timeoutSeconds: number): Promise<boolean>;
  undoAll(): Promise<UndoReport>;
  /**
   * The agent's current bearer token, sent with each change from now on: the privileged helper asks
   * the service with it which items are assigned (an in-process target has no one to ask).
   */
  authorize?(token: string): void;
}
