import { randomBytes } from 'node:crypto';

/**
 * A fresh tag for the lines the remote script reports ("<tag> <word> ..."): a per-transfer nonce,
 * so nothing a login shell prints, nor a file's contents, can pass for a report.
 */
export function newReportTag(): string {
  return `SSHSTREAM-${randomBytes(8).toString('hex')}`;
}
