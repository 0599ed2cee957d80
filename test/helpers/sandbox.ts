import { after, before } from 'node:test';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../lib/sandbox/sandbox.js';

/**
 * One real sshd for the test file that calls this at top level: started before its tests,
 * stopped after. Read `.current` inside tests.
 */
export function useSandbox(options?: SandboxOptions): { readonly current: Sandbox } {
  const holder: { current: Sandbox | undefined } = { current: undefined };
  before(async () => {
    holder.current = await startSandbox(options);
  });
  after(async () => {
    await holder.current?.stop();
  });
  return {
    get current(): Sandbox {
      if (!holder.current) throw new Error('sandbox not started');
      return holder.current;
    },
  };
}
