// When may a transfer's extra connections (BatchMode: never a question) log in at all?
// lib/ssh/unasked-login.ts reads what `ssh -G` prints.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SshSettings } from '../../lib/ssh/config.js';
import { loginMayHaveAsked, mayLogInUnasked } from '../../lib/ssh/unasked-login.js';

// `ssh -G` lines, as "keyword value" strings.
const settings = (...lines: string[]): SshSettings => {
  const parsed = new SshSettings();
  for (const line of lines) {
    const space = line.indexOf(' ');
    parsed.add(line.slice(0, space), line.slice(space + 1));
  }
  return parsed;
};

describe('mayLogInUnasked', () => {
  let dir = '';
  let key = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-unasked-'));
    key = join(dir, 'id_ed25519');
    await writeFile(key, 'a private key');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const noAgent = {};
  const missing = () => join(dir, 'missing');

  it('no key file that exists, no agent: only a question would log in', () => {
    const config = settings(`identityfile ${missing()}`, 'gssapiauthentication no');
    assert.equal(mayLogInUnasked(config, noAgent), false);
    assert.equal(mayLogInUnasked(settings(), noAgent), false);
  });

  it('a key file that exists, among several, may log in', () => {
    const config = settings(`identityfile ${missing()}`, `identityfile ${key}`);
    assert.equal(mayLogInUnasked(config, noAgent), true);
  });

  it('keys turned off: neither a key file nor an agent counts', () => {
    const config = settings('pubkeyauthentication no', `identityfile ${key}`);
    assert.equal(mayLogInUnasked(config, { SSH_AUTH_SOCK: '/run/agent' }), false);
  });

  it('an agent: $SSH_AUTH_SOCK, or IdentityAgent naming a socket or a variable; not "none"', () => {
    const none = `identityfile ${missing()}`;
    assert.equal(mayLogInUnasked(settings(none), { SSH_AUTH_SOCK: '/run/agent' }), true);
    assert.equal(mayLogInUnasked(settings(none), { SSH_AUTH_SOCK: '' }), false);
    const named = settings(none, 'identityagent /run/other-agent');
    assert.equal(mayLogInUnasked(named, noAgent), true);
    const variable = settings(none, 'identityagent $MY_AGENT');
    assert.equal(mayLogInUnasked(variable, { MY_AGENT: '/run/a' }), true);
    assert.equal(mayLogInUnasked(variable, noAgent), false);
    const off = settings(none, 'identityagent none');
    assert.equal(mayLogInUnasked(off, { SSH_AUTH_SOCK: '/run/agent' }), false);
  });

  it('what ssh expands itself, certificates, tokens and host-based logins may log in', () => {
    const none = `identityfile ${missing()}`;
    assert.equal(mayLogInUnasked(settings('identityfile %d/.ssh/k'), noAgent), true);
    assert.equal(mayLogInUnasked(settings(none, 'certificatefile /c'), noAgent), true);
    assert.equal(mayLogInUnasked(settings(none, 'pkcs11provider /p.so'), noAgent), true);
    assert.equal(mayLogInUnasked(settings(none, 'pkcs11provider none'), noAgent), false);
    assert.equal(mayLogInUnasked(settings(none, 'hostbasedauthentication yes'), noAgent), true);
  });

  it('Kerberos counts only with a ticket cache named', () => {
    const config = settings(`identityfile ${missing()}`, 'gssapiauthentication yes');
    assert.equal(mayLogInUnasked(config, { KRB5CCNAME: 'FILE:/tmp/krb5cc_0' }), true);
  });

  it('settings ssh could not give: may (the extra connections are tried)', () => {
    assert.equal(mayLogInUnasked(undefined, noAgent), true);
  });
});

describe('loginMayHaveAsked', () => {
  const none = {};
  it('a terminal to ask on: yes, unless BatchMode is set', () => {
    assert.equal(loginMayHaveAsked(settings('batchmode no'), true, none), true);
    assert.equal(loginMayHaveAsked(undefined, true, none), true);
    assert.equal(loginMayHaveAsked(settings('batchmode yes'), true, none), false);
  });

  it('no terminal: only where ssh would run an askpass program', () => {
    assert.equal(loginMayHaveAsked(settings('batchmode no'), false, none), false);
    assert.equal(loginMayHaveAsked(undefined, false, { SSH_ASKPASS_REQUIRE: 'force' }), true);
    assert.equal(loginMayHaveAsked(undefined, false, { DISPLAY: ':0' }), true);
    assert.equal(loginMayHaveAsked(undefined, false, { WAYLAND_DISPLAY: 'wayland-0' }), true);
    const never = { DISPLAY: ':0', SSH_ASKPASS_REQUIRE: 'never' };
    assert.equal(loginMayHaveAsked(undefined, false, never), false);
    const batch = { SSH_ASKPASS_REQUIRE: 'force' };
    assert.equal(loginMayHaveAsked(settings('batchmode yes'), false, batch), false);
  });
});
