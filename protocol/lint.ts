// A lint finding: what schema validation cannot see in a profile that is valid but will not work
// as the administrator expects (protocol/profile.ts lintProfile, protocol/sign-in.ts lintSignIn).
export interface LintFinding {
  severity: 'error' | 'warning';
  /** Stable: docs/protocol.md lists every code. */
  code: string;
  path: string;
  message: string;
}
