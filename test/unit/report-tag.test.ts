// newReportTag: a fresh nonce per transfer, in the one shape the remote script and readers expect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newReportTag } from '../../lib/remote/report-tag.js';

describe('newReportTag', () => {
  it('is SSHSTREAM- and 16 hex digits: no space, nothing a shell would expand', () => {
    assert.match(newReportTag(), /^SSHSTREAM-[0-9a-f]{16}$/);
  });

  it('is new every time', () => {
    const tags = new Set(Array.from({ length: 1000 }, () => newReportTag()));
    assert.equal(tags.size, 1000);
  });
});
