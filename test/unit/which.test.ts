import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findExecutable, hasLocalCommand } from '../../transforms/which.js';

describe('findExecutable', () => {
  let dir = '';
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-which-'));
    await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'tool'), 0o755);
    await writeFile(join(dir, 'plain'), 'not executable');
    await chmod(join(dir, 'plain'), 0o644);
    await mkdir(join(dir, 'folder'));
    env = { PATH: `/nonexistent-sshstream:${dir}` };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('finds an executable in a later PATH entry', () => {
    assert.equal(findExecutable('tool', env), join(dir, 'tool'));
    assert.equal(hasLocalCommand('tool', env), true);
  });

  test('skips files without any execute bit (even for root)', () => {
    assert.equal(findExecutable('plain', env), undefined);
  });

  test('skips directories and missing names', () => {
    assert.equal(findExecutable('folder', env), undefined);
    assert.equal(findExecutable('missing', env), undefined);
    assert.equal(hasLocalCommand('missing', env), false);
    assert.equal(findExecutable('', env), undefined);
  });

  test('a name with a slash is checked as a path, not searched', () => {
    assert.equal(findExecutable(join(dir, 'tool'), {}), join(dir, 'tool'));
    assert.equal(findExecutable(join(dir, 'folder'), env), undefined);
  });

  test('finds sh on the real PATH', () => {
    assert.match(findExecutable('sh') ?? '', /\/sh$/);
  });
});
