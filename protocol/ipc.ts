// The one contract between the agent's host and its UI (the React ESP): what the renderer may ask
// (commands, each answered once) and what the host tells it (the ESP snapshot, then every ESP
// event, and the decisions the engine waits for). The Electron preload exposes it through
// contextBridge; the dev host carries the same messages over a loopback WebSocket. Both sides
// parse every message with these schemas.
import { z } from 'zod';

import { EspEventSchema, EspFailureSchema, EspSnapshotSchema } from './esp.js';
import { describeIssues } from './validation.js';

const id = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** The WebSocket subprotocol of this contract (the dev host). */
export const IPC_PROTOCOL = 'selfdeploy.ipc.v1';

/** Largest message either side accepts (a snapshot with its branding logo fits easily). */
export const MAX_IPC_MESSAGE_BYTES = 4 * 1024 * 1024;

/** A Wi-Fi network in range, as the OOBE network page lists it. */
export const WifiNetworkSchema = z.object({
  ssid: z.string().min(1).max(32),
  security: z.enum(['open', 'wpa2', 'wpa3', 'enterprise']),
  signal: z.number().int().min(0).max(100),
  connected: z.boolean(),
});

/** The OOBE pages the engine asks for (profile language "user-select", or a keyboard page). */
export const OobePageSchema = z.enum(['language', 'region', 'keyboard']);
export type OobePage = z.output<typeof OobePageSchema>;

const layout = z.string().regex(/^[a-z]{2,5}$/, 'must be an XKB layout such as us, de, ch');

/** What the person at the device chose on the OOBE pages. */
export const OobeChoiceSchema = z
  .object({
    /** BCP 47 tag (de-CH). */
    language: z.string().regex(/^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?$/, 'must be a language tag such as de-CH'),
    /** ISO 3166 country for formats (dates, numbers, paper), or null: the language's. */
    region: z.string().regex(/^[A-Z]{2}$/, 'must be a country code such as CH').nullable(),
    keyboard: layout.nullable(),
    secondKeyboard: layout.nullable(),
  })
  .strict();
export type OobeChoice = z.output<typeof OobeChoiceSchema>;

/** What the diagnostics panel shows beside the ESP snapshot. */
export const DiagnosticsSchema = z.object({
  agentVersion: z.string(),
  service: z.string().nullable(),
  tpm: z.object({ tcti: z.string().nullable(), manufacturer: z.string().nullable() }),
  /**
   * `selfdeploy tpm check` on this device (main/cli/tpm-check.ts): will it pass "Securing your
   * hardware"? null when there is no TPM open to check.
   */
  tpmCheck: z
    .array(z.object({ check: z.enum(['tpm', 'usable', 'ek-certificate', 'trusted', 'clock']), status: z.enum(['pass', 'fail', 'skipped']), message: z.string().max(1000), code: z.string().nullable() }))
    .max(10)
    .nullable()
    .default(null),
  /** The agent's log, newest last (JSON lines: no payloads, no keys). */
  logTail: z.array(z.string()).max(200),
});
export type Diagnostics = z.output<typeof DiagnosticsSchema>;

/** Each command: its arguments and what the host answers. */
export const COMMANDS = {
  /** The current snapshot; the host then sends every ESP event as it happens. */
  subscribe: { args: z.object({}).strict(), result: EspSnapshotSchema },
  /** Try again: a new run of the engine from its journal (after a failure). */
  retry: { args: z.object({}).strict(), result: z.object({ started: z.boolean() }) },
  /** Reset device (only when the profile allows it): undo device setup, forget the agent's state, start over. */
  reset: { args: z.object({}).strict(), result: z.object({ started: z.boolean(), left: z.array(z.string()) }) },
  /** The answer to a pending "continue anyway?" decision. */
  decide: { args: z.object({ continueAnyway: z.boolean() }).strict(), result: z.object({ accepted: z.boolean() }) },
  /** Collect logs (when the profile allows it): the bundle, uploaded when the device can sign in. */
  collectLogs: { args: z.object({}).strict(), result: z.object({ path: z.string(), uploaded: z.string().nullable(), reason: z.string().nullable() }) },
  /** The answer to the OOBE pages the host asked for. */
  chooseOobe: { args: OobeChoiceSchema, result: z.object({ accepted: z.boolean() }) },
  /** Collect logs into a folder the technician names (a USB stick's mount point). */
  exportLogs: { args: z.object({ folder: z.string().min(1).max(4096) }).strict(), result: z.object({ path: z.string() }) },
  /** The facts of the diagnostics panel (Ctrl+Shift+D). */
  diagnostics: { args: z.object({}).strict(), result: DiagnosticsSchema },
  scanWifi: { args: z.object({}).strict(), result: z.array(WifiNetworkSchema) },
  connectWifi: { args: z.object({ ssid: z.string().min(1).max(32), psk: z.string().min(8).max(63).nullable() }).strict(), result: z.object({ connected: z.boolean() }) },
} as const;

export type Command = keyof typeof COMMANDS;
export type CommandArgs<C extends Command> = z.output<(typeof COMMANDS)[C]['args']>;
export type CommandResult<C extends Command> = z.output<(typeof COMMANDS)[C]['result']>;
export const COMMAND_NAMES = Object.keys(COMMANDS) as Command[];

/** Renderer → host: `{ id, command, args }`. */
export const RendererMessageSchema = z
  .object({ id, command: z.enum(COMMAND_NAMES as [Command, ...Command[]]), args: z.unknown().default({}) })
  .strict()
  .transform((message, ctx) => {
    const parsed = COMMANDS[message.command].args.safeParse(message.args);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: describeIssues(parsed.error, '(args)') });
      return z.NEVER;
    }
    return { id: message.id, command: message.command, args: parsed.data };
  });
export type RendererMessage = z.output<typeof RendererMessageSchema>;

export const IpcErrorSchema = z.object({ code: z.string().max(64), message: z.string().max(4096) });

/** Host → renderer. */
export const HostMessageSchema = z.union([
  z.object({ type: z.literal('reply'), id, ok: z.literal(true), result: z.unknown() }),
  /** A refused or failed command; id null when the message could not be read at all. */
  z.object({ type: z.literal('reply'), id: id.nullable(), ok: z.literal(false), error: IpcErrorSchema }),
  z.object({ type: z.literal('esp'), event: EspEventSchema }),
  /** A new run started (Try again, Reset): its snapshot replaces the old one. */
  z.object({ type: z.literal('snapshot'), snapshot: EspSnapshotSchema }),
  /** The engine waits for the OOBE pages: language, region, keyboard. */
  z.object({ type: z.literal('oobe'), pages: z.array(OobePageSchema).min(1) }),
  /** The engine waits: a required item failed and the profile allows continuing. */
  z.object({ type: z.literal('decision'), failure: EspFailureSchema }),
]);
export type HostMessage = z.output<typeof HostMessageSchema>;
