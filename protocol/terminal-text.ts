// Text that came from elsewhere — what a device reports (ESP titles, item details, failure
// messages), what a service answers — made safe to print on a person's terminal: no control
// character reaches it (no escape sequence can move the cursor, rewrite the screen, set the window
// title or a hyperlink, or feed the terminal input), and no bidirectional override can make it
// read other than it is. Each such character is shown as a visible escape (\x1b, \u202e), so
// nothing is silently lost either.

/** C0 controls but newline, DEL, C1 controls; bidi embeddings, overrides and isolates; line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

const visible = (char: string): string => {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` for a terminal: every unsafe character as a visible escape; newlines kept (or escaped too, for one line). */
export function terminalSafe(text: string, options: { oneLine?: boolean } = {}): string {
  const safe = text.replace(UNSAFE, visible);
  return options.oneLine ? safe.replace(/\n/g, '\\n') : safe;
}

/**
 * JSON text for a terminal or a pipe: JSON.stringify already escapes C0 controls; this escapes
 * the C1 controls, bidi controls and separators it leaves raw (as \uXXXX, still the same JSON).
 */
export function jsonSafe(json: string): string {
  return json.replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
