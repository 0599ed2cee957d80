import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findSshd } from '../../lib/sandbox/binaries.js';

/**
 * Where .ci/run unpacks an OpenSSH server of 9.8 or later (Debian's backport) when the system's
 * is older: unpacked, not installed, so the machine's own ssh stays as it was.
 */
export const NEWER_OPENSSH_ROOT = '/opt/sshstream-test/openssh';

/** An OpenSSH server from 9.8 on, and the sshd_config lines it needs to find its helpers. */
export interface NewerSshd {
  sshd: string;
  version: string;
  config: string[];
}

/**
 * An OpenSSH server of 9.8 or later (PerSourcePenalties, on by default since): the system's
 * when it is that new, else the one under NEWER_OPENSSH_ROOT; undefined when there is none.
 */
export function findNewerSshd(): NewerSshd | undefined {
  const system = findSshd();
  if (system !== undefined && atLeast98(versionOf(system))) {
    return { sshd: system, version: versionOf(system), config: [] };
  }
  const sshd = join(NEWER_OPENSSH_ROOT, 'usr/sbin/sshd');
  if (!existsSync(sshd) || !atLeast98(versionOf(sshd))) return undefined;
  // Its helpers are where its package put them, beside the unpacked tree, not in /usr/lib.
  const helpers = join(dirname(dirname(sshd)), 'lib/openssh');
  const config = [`SshdSessionPath ${join(helpers, 'sshd-session')}`];
  if (existsSync(join(helpers, 'sshd-auth')))
    config.push(`SshdAuthPath ${join(helpers, 'sshd-auth')}`);
  return { sshd, version: versionOf(sshd), config };
}

// "OpenSSH_10.0p2 Debian-7~bpo12+1, OpenSSL 3.0.19 ..." (sshd -V prints it on stderr).
function versionOf(sshd: string): string {
  const run = spawnSync(sshd, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().split(',')[0] ?? '';
}

function atLeast98(version: string): boolean {
  const match = /^OpenSSH_(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 9 || (major === 9 && minor >= 8);
}
