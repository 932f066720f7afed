// How a value that failed its schema is explained, once for every reader of files, requests and
// messages: each issue as "path message" ("(whole)" when it is about the value itself).
import type { z } from 'zod';

export function describeIssues(error: z.ZodError, whole = '(value)'): string {
  return error.issues.map((issue) => `${issue.path.join('.') || whole} ${issue.message}`).join('; ');
}

/** Parses JSON text against a schema; `fail` turns the explanation into the caller's error. */
export function parseJsonDocument<T extends z.ZodType>(text: string, schema: T, name: string, fail: (message: string) => Error): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fail(`${name} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fail(`${name}: ${describeIssues(parsed.error, '(file)')}`);
  return parsed.data;
}
