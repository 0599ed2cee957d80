// The help texts: what a user reads after the options of `sshstream --help` and each command.

/** After `sshstream pull --help`: how pull verifies and where the data goes. */
export const PULL_HELP = `
The remote side hashes the bytes it reads in the same pass and reports count and hash at the
end; a mismatch exits 3. With FILE the data goes to a hidden temporary file beside it, renamed
into place only when verified (an existing FILE keeps its mode). A big file (4 MiB or more)
into FILE, or into stdout redirected to a file (> FILE, >> FILE), is written by ssh itself,
with a third less CPU than through a pipe. To stdout the bytes are already out when a
mismatch is found: check the exit status. If the reader of stdout closes early
(sshstream pull h:f | head) sshstream stops quietly with status 141, like cat.

Examples:
  sshstream pull db1:/var/backups/dump.sql.gz dump.sql.gz
  sshstream pull -z --checksum sha256 web1:logs/app.log app.log`;

/** After every help: the exit codes and the environment. */
export const EXIT_HELP = `
Exit codes:
  0        transferred and verified
  1        usage: bad arguments, refused host or path
  2        could not connect or authenticate, the connection was lost (ssh exited 255),
           or no data moved for --stall-timeout seconds
  3        verification failed: counts or hashes differ; nothing committed
  4        remote I/O: permission, missing directory, disk full, remote tool missing
  5        local I/O: cannot read input or write output
  6        push to several targets: some failed (all failed alike: their code)
  70       internal error: a bug in sshstream (SSHSTREAM_DEBUG=1 prints the stack)
  141      pull: the reader of stdout closed early (quietly, like cat)
  129      hangup (SIGHUP: the terminal closed), after cleanup
  130/143  interrupted by SIGINT / SIGTERM, after cleanup

Environment:
  SSHSTREAM_SSH   ssh command to use instead of "ssh" (like GIT_SSH_COMMAND), e.g. "ssh -v"
  SSHSTREAM_DEBUG 1: timings of each step, and the stack of an internal error`;

/** After `sshstream push --help`: the commit, producers, --inplace, several targets. */
export const PUSH_HELP = `
The data goes to a hidden temporary file beside the destination
(.NAME.sshstream-<id>.tmp). Only when the byte count and hash of what landed on the remote
disk equal those of stdin is it fsynced and renamed over PATH. On any failure, interrupt or
lost connection the destination is left as it was and the temporary file is removed.
A relative PATH is relative to the remote home directory. An existing file keeps its
permission bits; a new one gets 0666 & ~umask (like cat >), unless --mode is given. A
symbolic link at PATH is replaced by the file (as rsync does), not written through.

Through a pipe (pg_dump db | sshstream push ...) a producer that dies midway cannot be told
from a short input: its partial output would be verified and committed. With
"sshstream push [options] HOST:PATH -- COMMAND [ARGS...]" sshstream runs the command itself
(no shell; its stdout is the input, its stderr passes through) and commits only if it exits 0
(else exit 5, nothing committed). A regular file on stdin must not change while it is sent
(else exit 3, nothing committed). PATH must be a regular file, a link to one, or missing: a
FIFO, a device or a directory is refused (exit 4); remove it first to push a file there.

A file that cannot be renamed over (a mount point: Docker's -v file:file bind mount) fails
with "Device or resource busy" (exit 4). --inplace writes into it instead: the data is still
verified in the temporary file, then copied over the existing file in place, fsynced and
hashed again (a mismatch exits 3). That copy is NOT atomic: a failure or a reader during it
sees a partly written file, and it writes through a symbolic link.

One SSH channel moves at most 2 MiB per round trip (about 20 MiB/s at 100 ms), and one TCP
connection not much more. A regular file on stdin (64 MiB or more, or any size with --streams
2 or more) travels in ranges, each written at its offset into the temporary file; each stream
opens a connection of its own where that logs in without asking (a key or an agent: never a
second prompt), else it is one more channel of the first connection (--single-connection:
always). --streams auto (the default) keeps 1 stream on a LAN or below 64 MiB, and on a long
link takes up to 8 (two per CPU core, at least 4), from the round trip it measures. With
--resume, ranges that landed whole are not sent again.

Several targets get the same stdin at the same time, each verified and committed on its own;
a failing target is dropped without stopping the others, and a table ends the run.

Examples:
  cat build.tar | sshstream push deploy@web1:/srv/app/build.tar
  sshstream push web1:app.tar web2:app.tar web3:app.tar < app.tar
  sshstream push --targets hosts.txt --max-parallel 8 < app.tar
  sshstream push -z --mkdir backup:dumps/db.sql -- pg_dump db
  sshstream push --json --checksum sha256 '[::1]:/tmp/x' < x
  sshstream push --streams 8 --retries 3 far-away:big.iso < big.iso`;
