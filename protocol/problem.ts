// Errors on the wire: RFC 9457 problem details (application/problem+json) with the stable
// catalogue `code`, so clients branch on the code and show the catalogue's remedy.
import { z } from 'zod';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export const FieldErrorSchema = z.object({
  /** Where: a JSON path ("endState.homeUrl"), or a CSV row and column. */
  path: z.string().optional(),
  row: z.number().int().optional(),
  column: z.string().optional(),
  reason: z.string(),
});

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  /** Per-field or per-row errors of a validation failure. */
  errors: z.array(FieldErrorSchema).optional(),
});

export type Problem = z.output<typeof ProblemSchema>;
export type FieldError = z.output<typeof FieldErrorSchema>;

export function problemType(code: string): string {
  return `urn:selfdeploy:problem:${code}`;
}
