// Remote output can hold terminal escape sequences; showing them raw would let a hostile peer
// redraw the user's terminal. Everything outside printable text is shown as a visible escape.
/** Escapes control characters (C0, DEL, C1) and invalid UTF-8 so the text is safe to print. */
export function escapeControl(text: string | Uint8Array): string {
  const decoded =
    typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: false }).decode(text);
  let out = '';
  for (const char of decoded) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\n') out += '\\n';
    else if (char === '\t') out += '\\t';
    else if (char === '\r') out += '\\r';
    else if (char === '\\') out += '\\\\';
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0))
      out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0xfffd) out += '\\ufffd';
    else out += char;
  }
  return out;
}

/**
 * Escapes raw control characters (C0, DEL, C1) only, for text that may already hold escapes
 * (an error message quoting the user's input): backslashes are left alone.
 */
export function escapeRawControl(text: string): string {
  return text.replace(
    /[\x00-\x1f\x7f-\x9f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
