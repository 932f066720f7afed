// Every parser of untrusted input, as a fuzz target: what it is fed (fast-check arbitraries, from
// random text and bytes to mutations of valid input) and what must hold whatever it is fed. A
// parser may refuse — with its own coded error — but never throw anything else, never hang, and
// what it accepts must keep the invariants below. fuzz.test.ts runs each briefly in `npm test`;
// `npm run fuzz` runs them long and saves what breaks one as a regression case in fuzz/corpus/.
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';

import { AssignmentsResponseSchema, StatusRequestSchema } from '../protocol/api/mdm.js';
import { CsvSyntaxError, csvLine, parseCsv } from '../protocol/csv.js';
import { HardwareHashError, decodeHardwareHash, encodeHardwareHash } from '../protocol/hardware-hash.js';
import { COMMANDS, HostMessageSchema, RendererMessageSchema } from '../protocol/ipc.js';
import { kioskNavigation } from '../protocol/kiosk.js';
import { DeploymentProfileSchema, lintProfile } from '../protocol/profile.js';
import { parseTpmsAttest } from '../protocol/tpm/attest.js';
import { TpmDecodeError } from '../protocol/tpm/bytes.js';
import { parseEccPoint, parseIdObject, parseEncryptedSecret } from '../protocol/tpm/credential.js';
import { parseDigestList, parsePcrSelection } from '../protocol/tpm/pcr.js';
import { parseTpm2bPublic } from '../protocol/tpm/public.js';
import { parseTpmtSignature } from '../protocol/tpm/signature.js';
import { normalizeUrl } from '../protocol/url-rules.js';
import { parseDocument } from '../backend/cli/admin/session.js';
import { parseRange } from '../backend/http/range.js';
import { HelperRequestSchema } from '../main/helper/protocol.js';
import { readRefusal, writeRefusal } from '../main/helper/allow-list.js';
import { placeContentRefusal } from '../main/target/place-contents.js';
import { ANY_ITEM_SCOPES, END_STATE_SCOPE, OOBE_SCOPE, PLACES, type PlaceName } from '../main/target/places.js';

/** What a fuzz run found: a parser threw what it must not, or broke an invariant. */
export class FuzzDefect extends Error {
  override name = 'FuzzDefect';
}

function must(condition: boolean, what: string): void {
  if (!condition) throw new FuzzDefect(what);
}

/** Runs `parse`; a refusal of one of `expected` kinds is fine, anything else thrown is a defect. */
function refusesOnlyWith<T>(parse: () => T, ...expected: (abstract new (...args: never[]) => Error)[]): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (expected.some((kind) => error instanceof kind)) return undefined;
    throw new FuzzDefect(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

/** A string input, or bytes saved as hex. */
export type FuzzInput = string | Uint8Array;

export interface FuzzTarget {
  name: string;
  /** What is fuzzed and what must hold. */
  what: string;
  arbitrary: fc.Arbitrary<FuzzInput>;
  check(input: FuzzInput): void;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Bytes: random, or a valid structure with some bytes changed, cut short or lengthened. */
function mutatedBytes(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const mutation = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.option(fc.nat()), fc.uint8Array({ maxLength: 16 })).map(([base, edits, cut, tail]) => {
    const bytes = Uint8Array.from(base);
    for (const [at, value] of edits) if (bytes.length) bytes[at % bytes.length] = value;
    const cutAt = cut === null ? bytes.length : cut % (bytes.length + 1);
    return Uint8Array.from([...bytes.subarray(0, cutAt), ...(cut === null ? tail : [])]);
  });
  return fc.oneof(fc.uint8Array({ maxLength: 512 }), mutation);
}

/** Text: random, or a valid text with some characters changed, removed or inserted. */
function mutatedText(valid: readonly string[], alphabet: fc.Arbitrary<string> = fc.string({ unit: 'binary', maxLength: 4 })): fc.Arbitrary<string> {
  const mutation = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), alphabet), { maxLength: 6 })).map(([base, edits]) => {
    let text = base;
    for (const [at, remove, insert] of edits) {
      const i = text.length ? at % text.length : 0;
      text = text.slice(0, i) + insert + text.slice(i + remove);
    }
    return text;
  });
  return fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), mutation);
}

// A few valid inputs to mutate (TPM structures as the TPM marshals them).
const VALID_HASH = encodeHardwareHash({ serial: 'PF3XK9', manufacturer: 'LENOVO', model: '21HD', smbiosUuid: null, macs: ['a4:bb:6d:01:02:03'], diskSerials: ['S6P7'], tpmManufacturer: 'NTC', ekDigest: 'aa'.repeat(32) });
const TPM_SAMPLES = [
  // TPM2B_PUBLIC of an ECC P-256 signing key (restricted, fixedTPM): size, type, nameAlg, attributes, policy, parameters, unique.
  Uint8Array.from(Buffer.from('005a0023000b00050072000000100018000b00030010002000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000', 'hex')),
  // TPMT_SIGNATURE: ECDSA, SHA-256, r and s of 32 bytes.
  Uint8Array.from(Buffer.from(`0018000b0020${'11'.repeat(32)}0020${'22'.repeat(32)}`, 'hex')),
  // TPML_PCR_SELECTION: one bank, SHA-256, PCRs 0, 1, 7.
  Uint8Array.from(Buffer.from('00000001000b03830000', 'hex')),
  // TPMS_ATTEST header: magic, type (quote), then short.
  Uint8Array.from(Buffer.from('ff54434780180000', 'hex')),
];
const PROFILES = [
  '{}',
  JSON.stringify({ oobe: { language: 'de-DE' }, esp: { timeoutMinutes: 30, allowReset: true }, endState: { type: 'kiosk', localAccount: { name: 'kiosk' }, mode: 'browser', homeUrl: 'https://a.example/', allowedUrls: ['https://a.example/*'], blockedUrls: ['https://a.example/admin'] } }),
  'esp:\n  timeoutMinutes: 60\nendState:\n  type: kiosk\n  localAccount: { name: kiosk }\n  mode: signage\n  homeUrl: https://signage.example/\n',
  'a: &x [1, 2]\nb: *x\nc: [*x, *x]\n',
];
/** Files root acts on, as a system has them and as device setup writes them: place, what is there, what may come. */
const PLACE_SAMPLES: Partial<Record<PlaceName, [current: string, next: string]>> = {
  keyboard: ['XKBMODEL="pc105"\nXKBLAYOUT="us"\nXKBVARIANT=""\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n', 'XKBMODEL="pc105"\nXKBLAYOUT="ch,de"\nXKBVARIANT=""\nXKBOPTIONS="grp:alt_shift_toggle"\n\nBACKSPACE="guess"\n'],
  locale: ['LANG=en_US.UTF-8\n', 'LANG=de_CH.UTF-8\nLC_TIME=fr_CH.UTF-8\n'],
  loginDefs: ['MAIL_DIR\t/var/mail\nPASS_MAX_DAYS\t99999\n#USERDEL_CMD\t/usr/sbin/userdel_local\n', 'MAIL_DIR\t/var/mail\nPASS_MAX_DAYS\t90\n#USERDEL_CMD\t/usr/sbin/userdel_local\n'],
  hosts: ['127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n', '127.0.0.1\tlocalhost\n127.0.1.1\tLOBBY-7\n'],
  gdm: ['[daemon]\n# AutomaticLoginEnable = true\n\n[debug]\n# Enable=true\n', '[daemon]\n# AutomaticLoginEnable = true\nAutomaticLoginEnable=true\nAutomaticLogin=lobby\n\n[debug]\n# Enable=true\n'],
  lightdm: ['', '[Seat:*]\nautologin-user=lobby\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n'],
  timezone: ['Etc/UTC\n', 'Europe/Zurich\n'],
};
const PLACE_NAMES = Object.keys(PLACE_SAMPLES) as PlaceName[];
const ACCOUNTS = 'root:x:0:0::/root:/bin/sh\nlobby:x:1001:1001::/home/lobby:/bin/sh\n';
const URLS = ['https://visit.fabrikam.example/admin/users?x=1', 'http://a.example:80/%61dmin/./x/../y', 'https://[::1]:8443/a', 'https://bücher.example/ä'];

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'csv',
    what: 'parseCsv (the device import): refuses only with CsvSyntaxError; what csvLine writes it reads back field for field',
    arbitrary: fc.oneof(
      mutatedText(['Device Serial Number,Hardware Hash,Group Tag,Assigned User\r\nSN1,"a,b",,\n', '\uFEFF"x""y",z\n\n"', 'a,"b\r\nc"\r\n']),
      fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }).map((rows) => JSON.stringify(rows)),
    ),
    check(input) {
      const text = input as string;
      let rows: unknown;
      try {
        rows = JSON.parse(text);
      } catch {
        rows = undefined;
      }
      if (Array.isArray(rows) && rows.every((r) => Array.isArray(r) && r.length > 0 && r.every((f) => typeof f === 'string'))) {
        const table = rows as string[][];
        // Round trip (a record of one empty field is a blank line, which the reader skips).
        const written = table.map((fields) => csvLine(fields)).join('\r\n');
        const read = refusesOnlyWith(() => parseCsv(written), CsvSyntaxError);
        must(read !== undefined, `csvLine wrote what parseCsv refuses: ${JSON.stringify(written)}`);
        const expected = table.filter((fields) => !(fields.length === 1 && fields[0] === ''));
        must(JSON.stringify(read!.map((r) => r.fields)) === JSON.stringify(expected), `round trip changed ${JSON.stringify(table)}`);
        return;
      }
      const records = refusesOnlyWith(() => parseCsv(text), CsvSyntaxError);
      if (records) for (const record of records) must(record.row >= 1 && record.fields.every((f) => typeof f === 'string'), 'a record that is not rows of strings');
    },
  },
  {
    name: 'hardware-hash',
    what: 'decodeHardwareHash: refuses only with HardwareHashError; what it accepts encodes back to the canonical hash',
    arbitrary: mutatedText([VALID_HASH, `${VALID_HASH}==`, VALID_HASH.slice(0, 20)], fc.constantFrom('A', '/', '+', '=', '-', '_', ' ', '\n', 'é')),
    check(input) {
      const identity = refusesOnlyWith(() => decodeHardwareHash(input as string), HardwareHashError);
      if (identity) must(decodeHardwareHash(encodeHardwareHash(identity)).serial === identity.serial, 'an accepted hash does not survive re-encoding');
    },
  },
  {
    name: 'tpm-structures',
    what: 'every TPM structure parser the service runs on device input: refuses only with TpmDecodeError',
    arbitrary: mutatedBytes(TPM_SAMPLES),
    check(input) {
      const bytes = input as Uint8Array;
      for (const parse of [parseTpm2bPublic, parseTpmsAttest, parseTpmtSignature, parsePcrSelection, parseDigestList, parseIdObject, parseEncryptedSecret, parseEccPoint]) {
        refusesOnlyWith(() => parse(bytes), TpmDecodeError);
      }
    },
  },
  {
    name: 'profile',
    what: 'a profile as an administrator writes it (YAML or JSON) and as the service validates and lints it: INPUT_FILE_INVALID or a schema refusal, never a crash',
    arbitrary: fc.oneof(mutatedText(PROFILES), fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value))),
    check(input) {
      for (const name of ['profile.yaml', 'profile.json']) {
        let document: unknown;
        try {
          document = parseDocument(input as string, name);
        } catch (error) {
          if ((error as { code?: string }).code === 'INPUT_FILE_INVALID') continue;
          throw new FuzzDefect(`parseDocument threw ${String(error)}`);
        }
        const parsed = DeploymentProfileSchema.safeParse(document);
        if (parsed.success) lintProfile(parsed.data);
      }
      // The YAML reader itself: aliases are bounded (a billion laughs is refused, not expanded).
      try {
        parseYaml(input as string, { maxAliasCount: 100 });
      } catch {
        // refused: fine
      }
    },
  },
  {
    name: 'kiosk-url',
    what: 'the kiosk URL rules: normaliseUrl never throws, is idempotent, and a URL and its normal form get the same verdict',
    arbitrary: fc.oneof(mutatedText(URLS, fc.constantFrom('/', '.', '%', '2e', '2F', '@', '\\', ':', '?', '#', ';', 'A', 'é', '\u0000')), fc.webUrl({ withQueryParameters: true, withFragments: true })),
    check(input) {
      const rules = { homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*', 'https://*.example/*'], blockedUrls: ['https://visit.fabrikam.example/admin', '*://*/secret*'] };
      const normalized = normalizeUrl(input as string);
      const verdict = kioskNavigation(input as string, rules);
      if (!normalized) {
        must(!verdict.allowed, 'a URL that does not normalise was allowed');
        return;
      }
      must(normalizeUrl(normalized.href)?.href === normalized.href, `not idempotent: ${normalized.href}`);
      must(JSON.stringify(kioskNavigation(normalized.href, rules)) === JSON.stringify(verdict), `another verdict for the normal form of ${String(input)}`);
    },
  },
  {
    name: 'helper-protocol',
    what: "selfdeploy-helper's requests: the schema never throws, and every path it accepts gets a verdict (never an exception) from the allow-list",
    arbitrary: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .record({
          id: fc.oneof(fc.nat(), fc.string()),
          op: fc.constantFrom('writeFile', 'writeSymlink', 'ensureDir', 'check', 'readFile', 'stat', 'command', 'runScript', 'installPackage', 'probe', 'undoAll', 'hello', 'format'),
          item: fc.oneof(fc.constantFrom('oobe', 'end-state', '00000000-0000-4000-8000-000000000001@1'), fc.string()),
          path: fc.oneof(fc.constantFrom('/etc/hostname', '/etc/cron.d/x', '/opt/app/../../etc/shadow', '/var/log/selfdeploy/applied.log', '/etc/opt/app/a.json'), fc.string().map((s) => `/${s}`)),
          content: fc.base64String({ maxLength: 16 }),
          mode: fc.oneof(fc.integer({ min: 0, max: 0o7777 }), fc.double()),
          argv: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
          inverse: fc.constant(null),
        }, { requiredKeys: ['id', 'op'] })
        .map((request) => JSON.stringify(request)),
    ),
    check(input) {
      let json: unknown;
      try {
        json = JSON.parse(input as string);
      } catch {
        return; // the server answers HELPER_REQUEST_INVALID
      }
      const parsed = HelperRequestSchema.safeParse(json);
      if (!parsed.success || !('path' in parsed.data)) return;
      const request = parsed.data;
      readRefusal(request.path);
      writeRefusal(ANY_ITEM_SCOPES, request.path, 'mode' in request ? request.mode : 0o644, undefined);
      must(readRefusal(request.path).refused !== null || !request.path.split('/').includes('..'), `a path with ".." was accepted: ${request.path}`);
    },
  },
  {
    name: 'place-contents',
    what: 'what the agent asks selfdeploy-helper to write where root acts on it (keyboard, locale, login.defs, hosts, GDM, LightDM, time zone): a content rule never throws, and what it accepts adds no line a shell or root would run',
    arbitrary: fc.constantFrom(...PLACE_NAMES).chain((place) => mutatedText([PLACE_SAMPLES[place]![1]], fc.constantFrom('$(id)', '`', ';', '|', '\n', '"', '=', ' ', '\t', '#', '[', ']', 'X', 'USERDEL_CMD /x\n', 'session-setup-script=/x\n')).map((next) => `${place}\n${next}`)),
    check(input) {
      const text = input as string;
      const place = text.slice(0, text.indexOf('\n')) as PlaceName;
      const next = text.slice(text.indexOf('\n') + 1);
      const sample = PLACE_SAMPLES[place];
      if (!sample) return;
      const scope = place === 'keyboard' || place === 'locale' || place === 'timezone' ? OOBE_SCOPE : place === 'loginDefs' ? ANY_ITEM_SCOPES.find((s) => s.files.some((f) => f.place === 'loginDefs'))! : END_STATE_SCOPE;
      const current = sample[0] === '' ? null : sample[0];
      const refused = placeContentRefusal(place, Buffer.from(next), { path: PLACES[place], current, scope, read: (path) => (path === '/etc/passwd' ? ACCOUNTS : null) });
      if (refused !== null) return;
      const had = new Set((current ?? '').split('\n'));
      for (const line of next.split('\n').filter((l) => !had.has(l))) {
        must(!/[$`;|&<>\\]/.test(line), `${place} accepted the line ${JSON.stringify(line)}`);
        must(!/^\s*(USERDEL_CMD|session-setup-script|PATH|ENV_)/.test(line), `${place} accepted the line ${JSON.stringify(line)}`);
      }
    },
  },
  {
    name: 'ipc',
    what: 'the UI contract: the renderer and host message schemas and every command\'s arguments never throw on any JSON',
    arbitrary: fc.oneof(
      fc.jsonValue({ maxDepth: 5 }),
      fc.record({ type: fc.constantFrom('call', 'hello', 'esp', 'snapshot', 'result'), id: fc.nat(), command: fc.constantFrom(...Object.keys(COMMANDS), 'rm'), args: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
    ).map((value) => JSON.stringify(value)),
    check(input) {
      const value = JSON.parse(input as string) as unknown;
      RendererMessageSchema.safeParse(value);
      HostMessageSchema.safeParse(value);
      for (const command of Object.values(COMMANDS)) {
        command.args.safeParse(value);
        command.result.safeParse(value);
      }
      // What devices send the service, and what the service sends them.
      StatusRequestSchema.safeParse(value);
      AssignmentsResponseSchema.safeParse(value);
    },
  },
  {
    name: 'range',
    what: 'the Range header of content downloads: parseRange never throws, and a range it serves lies within the content',
    arbitrary: fc
      .tuple(fc.oneof(fc.string({ maxLength: 40 }), fc.tuple(fc.option(fc.nat()), fc.option(fc.nat())).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`)), fc.nat({ max: 10_000 }))
      .map(([header, size]) => JSON.stringify({ header, size })),
    check(input) {
      const { header, size } = JSON.parse(input as string) as { header: string; size: number };
      const range = parseRange(header, size);
      if (range.kind === 'partial') must(range.start >= 0 && range.start <= range.end && range.end < size, `bytes ${range.start}-${range.end} of ${size}`);
    },
  },
];

/** How a case is saved in fuzz/corpus/TARGET/: JSON, bytes as hex. */
export function saveable(input: FuzzInput): { text: string } | { hex: string } {
  return typeof input === 'string' ? { text: input } : { hex: hex(input) };
}

export function restored(saved: { text?: string; hex?: string }): FuzzInput {
  return saved.hex !== undefined ? Uint8Array.from(Buffer.from(saved.hex, 'hex')) : (saved.text ?? '');
}
