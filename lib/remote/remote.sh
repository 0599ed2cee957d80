# sshstream remote script: POSIX sh, no install on the server.
# Run by the bootstrap in remote-script.ts as: sh -c BOOTSTRAP sshstream TAG OP ARGS... with
# this script on stdin (in $s), where every argument is octal-encoded ("x" and digit triples)
# and decoded here. $1 is the report tag (a per-transfer nonce, so noise from login
# startup files can never be mistaken for a report); $2 the operation. Reports are lines "<tag> <word> ..."; error messages
# travel hex-encoded so paths with newlines cannot break the line protocol.
export LC_ALL=C
# All arguments decoded in one pass, into one printf format that prints them single-quoted (' as
# '\'', the quotes themselves as \047), which eval sets back in place. Every byte goes through an
# octal escape, so none is ever parsed as shell. The shell builds the format itself, a triple at
# a time: a process start (sed) cost 8 ms of a small push's session here, each session's. Each
# step copies what is left, though, which grows with the square of the length (cubed in ksh and
# mksh: 540 ms for 430 bytes): longer arguments (long paths) go through sed after all.
# (The arguments of a pull handed to pull-control's session are decoded the same way.)
decoded() {
  df="$*"
  if [ ${#df} -gt 384 ]; then
    printf "$(printf ' %s' "$@" | sed 's/[0-7][0-7][0-7]/\\&/g; s/\\047/\\047\\134\\047\\047/g; s/ x/\\047 \\047/g; s/^\\047 //; s/$/\\047/')"
    return
  fi
  df=
  for da do
    da=${da#x}; df="$df \\047"
    while [ -n "$da" ]; do
      dr=${da#???}; dt=${da%"$dr"}; da=$dr
      case $dt in 047) df="$df\\047\\134\\047\\047" ;; *) df="$df\\$dt" ;; esac
    done
    df="$df\\047"
  done
  printf "$df"
}
eval "set -- $(decoded "$@")"
tag=$1 op=$2
shift 2

# hex: stdin as hex digits; where there is no od (OpenWrt's BusyBox), awk maps each byte, lines
# joined by 0a (a trailing newline is dropped: messages come from $(...), which has none).
if command -v od >/dev/null 2>&1; then hex() { od -An -v -tx1 | tr -d ' \n'; }
else hex() { awk 'BEGIN { for (i = 1; i < 256; i++) c[sprintf("%c", i)] = i } { if (NR > 1) printf "0a"; for (j = 1; j <= length($0); j++) printf "%02x", c[substr($0, j, 1)] }'; }
fi
say() { printf '%s %s\n' "$tag" "$*"; }
# fail CLASS MESSAGE: report on stderr, exit 4 (remote I/O) or 127 (missing tool).
fail() {
  # The control script's error is its last reply, as with done_with.
  [ -z "${in_control:-}" ] || control_cleanup
  m=$(printf '%s' "$2" | hex)
  printf '%s err %s %s\n' "$tag" "$1" "$m" >&2
  [ "$1" = tool ] && exit 127
  exit 4
}

# pick_hash ALGO: sets H to a command printing the hex digest of stdin, the fastest first:
# OpenSSL's SHA-1/SHA-256 take a third to a half of coreutils' CPU time; for MD5 they tie.
pick_hash() {
  case $1 in
    md5) set -- md5sum 'md5 -q' 'openssl dgst -md5' ;;
    sha1) set -- 'openssl dgst -sha1' sha1sum 'shasum -a 1' 'sha1 -q' ;;
    sha256) set -- 'openssl dgst -sha256' sha256sum 'shasum -a 256' 'sha256 -q' ;;
    none) H='cat >/dev/null'; return 0 ;;
    *) return 1 ;;
  esac
  for c do
    if command -v "${c%% *}" >/dev/null 2>&1; then H=$c; return 0; fi
  done
  return 1
}
need_hash() {
  pick_hash "$1" || case $1 in
    md5) fail tool 'no md5 tool on the remote host: install coreutils (md5sum) or openssl' ;;
    sha1) fail tool 'no sha1 tool on the remote host: install coreutils (sha1sum) or openssl' ;;
    *) fail tool "no $1 tool on the remote host: install coreutils (${1}sum) or openssl" ;;
  esac
}
need_tool() {
  command -v "$1" >/dev/null 2>&1 || fail tool "$1 not found on the remote host: install $1"
}
# have_tools TOOL...: the ones on PATH, comma-separated, or "-".
have_tools() {
  t=
  for c do command -v "$c" >/dev/null 2>&1 && t=${t:+$t,}$c; done
  printf %s "${t:--}"
}
# digest_of FILE: its digest in $dg. digest_in LINE: the digest in a hash tool's output line
# (md5sum's "HASH  -", OpenSSL's "MD5(stdin)= HASH") in $dg, cut out without starting a sed.
digest_of() { digest_in "$(eval "$H" < "$1")"; }
digest_in() { dg=${1##*=}; dg=${dg#"${dg%%[! ]*}"}; dg=${dg%% *}; }
# size_of FILE: its size in bytes in $sz (or empty). number_in TEXT: the first number in TEXT
# in $sz (wc pads it with blanks on BSD), cut out without starting a tr.
size_of() { number_in "$(wc -c < "$1")"; }
number_in() { sz=${1#"${1%%[0-9]*}"}; sz=${sz%%[!0-9]*}; }

# name_sum: a short stand-in for a long name: cksum, else md5sum (OpenWrt's BusyBox has no
# cksum; without either, every long name in a directory would share one partial file).
name_sum() {
  if command -v cksum >/dev/null 2>&1; then cksum
  elif command -v md5sum >/dev/null 2>&1; then md5sum
  else sha256sum; fi
}

# resolve PATH [RESUME]: sets p (safe to pass to commands: never starts with '-'), dir, base,
# tmp (this transfer's own file) and shared: the fixed name under which a resumable transfer
# leaves its partial file for the next --resume run, and from which that run takes it.
resolve() {
  p=$1
  case $p in /*) ;; *) p=./$p ;; esac
  case $p in */) fail isdir 'is a directory (give a file name)' ;; esac
  dir=${p%/*}; base=${p##*/}
  [ -n "$dir" ] || dir=/
  if [ ${#base} -gt 200 ]; then stem=$dir/.$(printf %s "$base" | name_sum | cut -d ' ' -f 1)
  else stem=$dir/.$base; fi
  shared=$stem.sshstream-partial
  if [ "${2:-0}" = 1 ]; then tmp=$stem.sshstream-$tag.partial; else tmp=$stem.sshstream-$tag.tmp; fi
}

# take_partial: makes the shared partial file this transfer's own by renaming it to tmp, one
# atomic step: of overlapping transfers only one gets it, the others start afresh. While another
# transfer still holds one (a retry right after a dropped link), waits a little for it.
take_partial() {
  i=0
  until [ -f "$shared" ] && [ ! -L "$shared" ] && mv -f -- "$shared" "$tmp" 2>/dev/null; do
    held=
    for f in "$stem.sshstream-"*.partial; do [ -f "$f" ] && held=1; done
    [ -n "$held" ] && [ "$i" -lt 15 ] || return 0
    sleep 0.2 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  # The ranges of a parallel push that landed whole (see push_range) go with the file.
  mv -f -- "$shared.ranges" "$tmp.ranges" 2>/dev/null || :
}

# release control|data: a resumable transfer's two sessions each call this once, at their end.
# The data session claims $tmp.d before it opens the file (the control script claims it first
# when it ends or commits, so no data session can start later); the first to end makes $tmp.e;
# the second gives the file back under the shared name: only then has every writer closed it.
release() {
  if [ "$1" = control ] && [ -z "${claimed:-}" ] && mkdir -- "$tmp.d" 2>/dev/null; then :
  elif [ "$1" = control ] && [ -n "${claimed:-}" ] && [ ! -d "$tmp.e" ]; then :
  elif mkdir -- "$tmp.e" 2>/dev/null; then return 0
  fi
  rm -f -- "$tmp.sum"
  # The record first: a run that takes the file a moment later must find its record too.
  if [ -f "$tmp" ] && [ -f "$tmp.ranges" ]; then mv -f -- "$tmp.ranges" "$shared.ranges"; else rm -f -- "$tmp.ranges"; fi
  if [ -f "$tmp" ]; then mv -f -- "$tmp" "$shared"; fi
  rmdir -- "$tmp.e" "$tmp.d" 2>/dev/null
  return 0
}

# file_mode PATH: permission bits of the file PATH is or points to (a link's own are 777).
file_mode() {
  stat -L -c %a "$1" 2>/dev/null || stat -L -f %Lp "$1" 2>/dev/null || ls_mode "$1"
}
# ls_mode PATH: the same from ls -lnLd where there is no stat (OpenWrt's BusyBox): the nine
# permission letters, s/S and t/T adding setuid, setgid and sticky.
ls_mode() {
  lm_l=$(ls -lnLd -- "$1" 2>/dev/null) || return 1
  lm_l=${lm_l%% *}; lm_l=${lm_l#?}; lm_m=0
  for lm_b in 256 128 64 32 16 8 4 2 1; do
    lm_c=${lm_l%"${lm_l#?}"}; lm_l=${lm_l#?}
    case $lm_b in 64) lm_s=2048 ;; 8) lm_s=1024 ;; 1) lm_s=512 ;; *) lm_s=0 ;; esac
    case $lm_c in
      r|w|x) lm_m=$((lm_m + lm_b)) ;;
      s|t) lm_m=$((lm_m + lm_b + lm_s)) ;;
      S|T) lm_m=$((lm_m + lm_s)) ;;
    esac
  done
  printf '%o\n' "$lm_m"
}

# not_a_file: refuses a destination that exists but is not a regular file (or a link to one):
# a FIFO, a device or a socket is never replaced by a file (test(1) only, no stat needed).
not_a_file() {
  [ -e "$p" ] && [ ! -f "$p" ] || return 0
  if [ -p "$p" ]; then k='a FIFO'
  elif [ -c "$p" ]; then k='a character device'
  elif [ -b "$p" ]; then k='a block device'
  elif [ -S "$p" ]; then k='a socket'
  else k='not a regular file'; fi
  [ "$k" = 'not a regular file' ] || k="$k, not a regular file"
  fail notfile "is $k: refusing to replace it (remove it first to push a file there)"
}

fsync_file() { sync -- "$@" 2>/dev/null || sync; }

# push-control PATH MKDIR ALGO MODE COMPRESS RESUME INPLACE: prepares the temporary file, then
# takes commands on stdin. Whatever ends this process before "commit" (EOF from a dropped
# connection, a killed client, a signal) removes the temporary file, unless RESUME keeps it for
# next time. INPLACE 1: the commit copies the verified file over an existing PATH (see inplace).
push_control() {
  path=$1 mkdirs=$2 algo=$3 mode=$4 compress=$5 resume=$6 inplace=${7:-}; given_mode=$mode
  resolve "$path" "$resume"
  need_hash "$algo"
  # auto: the local side picks once it has seen the data, from the tools reported here.
  tools=-
  case $compress in auto) tools=$(have_tools zstd gzip) ;; ?*) need_tool "$compress" ;; esac
  if [ -d "$p" ]; then fail isdir 'is a directory'; fi
  not_a_file
  if [ -d "$dir" ]; then :
  elif [ "$mkdirs" = 1 ]; then
    e=$(mkdir -p -- "$dir" 2>&1) || fail io "cannot create directory: $e"
  elif [ -e "$dir" ]; then fail notdir 'parent is not a directory'
  else fail enoent 'no such directory (use --mkdir to create it)'
  fi
  [ -w "$dir" ] || fail eacces "permission denied: cannot create files in $dir"
  if [ -z "$mode" ]; then
    if [ -e "$p" ]; then mode=$(file_mode "$p")
    else
      # 0666 & ~umask, digit by digit: ksh, mksh and zsh read 0666 as decimal outside sh mode.
      u=$(umask); u=00$u; u=${u#"${u%???}"}; o=${u%?}
      mode=$((6 & ~${u%??}))$((6 & ~${o#?}))$((6 & ~${u#??}))
    fi
  fi
  committed=0; sf=
  # From here on every end cleans up (control_cleanup), before its last reply if it has one.
  trap control_cleanup EXIT; in_control=1
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap '' PIPE
  [ "$resume" = 1 ] && take_partial
  # Private until committed: a 0600 file whose name says what it is.
  if [ "$resume" = 1 ] && [ -f "$tmp" ]; then
    size_of "$tmp"; partial=$sz
  else
    partial=0
    e=$(exec 2>&1; umask 077; set -C; : > "$tmp") || { trap - EXIT; in_control=; fail io "cannot create temporary file: $e"; }
  fi
  # Our pid, for the data session to notice that we were killed outright (no trap runs then).
  (umask 077; echo $$ > "$tmp.owner")
  guard
  say ready "$partial" "$tools"
  while IFS= read -r line; do
    set -- $line
    case $1 in
      ping) say pong ;;
      # ranges: the ranges of a parallel push already in the file, as OFFSET:LENGTH,... or -.
      ranges) if [ -s "$tmp.ranges" ]; then say ranges "$(tr '\n' , < "$tmp.ranges")"; else say ranges -; fi ;;
      # landed OFFSET LENGTH: a range session wrote all its bytes (a resumable push records it).
      landed) [ "$resume" != 1 ] || (umask 077; echo "$2:$3" >> "$tmp.ranges") ;;
      partial-sum) size_of "$tmp"; digest_of "$tmp"; say partial-sum "$sz" "$dg" ;;
      truncate) rm -f -- "$tmp.ranges"; : > "$tmp" && say truncated ;;
      # put TOTAL DATA: a small input sent instead of a data session, as a printf format of
      # octal escapes (\101 for A: no other character, so no % conversion and nothing a shell
      # word splits or globs), written by the builtin printf: no process to start. The file must
      # then hold TOTAL bytes (printf may not report a full disk), which the commit checks
      # first, as it counts the bytes anyway.
      put) put_e=${put_e:-}$(printf "$3" 2>&1 >> "$tmp"); put_n=$2 ;;
      # script: saves this script (private, removed on exit) for a data session whose stdin
      # is the user's file, so it cannot come on stdin (remote-script.ts savedScriptPath).
      script)
        sf=$dir/.sshstream-$tag.sh
        e=$( (umask 077; set -C; printf '%s' "$s" > "$sf") 2>&1) || { sf=; fail io "cannot save the script: $e"; }
        say script ;;
      # keep: the file is given back on exit; first the data session gets a moment to end, so
      # the next run (or a retry) finds it.
      keep)
        i=0
        while [ "$resume" = 1 ] && [ -d "$tmp.d" ] && [ ! -d "$tmp.e" ] && [ "$i" -lt 15 ]; do
          sleep 0.2 2>/dev/null || sleep 1
          i=$((i + 1))
        done
        done_with 0 kept ;;
      commit)
        # What is verified is what is renamed: no data session may still be writing into it.
        if [ "$resume" = 1 ]; then
          if mkdir -- "$tmp.d" 2>/dev/null; then claimed=1
          elif [ ! -d "$tmp.e" ]; then fail io 'the data session is still writing'; fi
        fi
        # The directory may have been removed, or the file replaced, while the data came in.
        [ -f "$tmp" ] || fail io 'the temporary file or its directory was removed during the push; nothing committed'
        # Its bytes go to the disk while it is read again or counted below: the commit waits
        # for the slower of the two, not for both in turn (1 GiB here: hash 1.8 s, fsync 0.8 s).
        (trap - EXIT; fsync_file "$tmp") </dev/null >/dev/null 2>&1 &
        flushing=$!
        # The data session hashed the bytes as it wrote them: the file is counted too (it must
        # hold them all). Any other file (inline, parallel, resumed) is read again here; when it
        # hashes to the sender's digest, it holds just the bytes sent: no wc (a process start).
        n=
        if [ -f "$tmp.sum" ]; then h=; IFS= read -r h < "$tmp.sum"; digest_in "$h"
        else
          digest_of "$tmp"
          [ "$algo" = none ] || [ -z "$dg" ] || [ "$dg" != "${3:-}" ] || n=$2
        fi
        h=$dg
        [ -n "$n" ] || { size_of "$tmp"; n=$sz; }
        if [ -n "${put_n:-}" ] && [ "$n" != "$put_n" ]; then
          fail io "cannot write the temporary file${put_e:+: $put_e} ($n of $put_n bytes written)"
        fi
        if [ "$n" != "$2" ] || [ "$h" != "${3:-}" ]; then
          rm -f -- "$tmp" "$tmp.ranges"; done_with 3 mismatch "$n" "$h"
        fi
        e=$(chmod "$mode" "$tmp" 2>&1) || fail io "chmod: $e"
        wait "$flushing" 2>/dev/null; flushing=
        # Checked again at the last moment: mv into a directory would move the file inside it.
        if [ -L "$p" ] && [ -d "$p" ]; then fail isdir 'is a symbolic link to a directory'; fi
        if [ -d "$p" ]; then fail isdir 'became a directory during the push; nothing committed'; fi
        not_a_file
        if [ "$inplace" = 1 ] && [ -f "$p" ]; then commit_inplace "$2" "$3"; fi
        e=$(mv -f -- "$tmp" "$p" 2>&1) || case $e in
          *[Bb]usy*) fail busy "cannot rename into place: $e (a mount point, such as a bind-mounted file, cannot be replaced: push with --inplace to write into it)" ;;
          *) fail io "cannot rename into place: $e" ;;
        esac
        # A directory made in the instant between the check and mv: take the file back out.
        if [ -d "$p" ] && [ -f "$p/${tmp##*/}" ]; then
          rm -f -- "$p/${tmp##*/}"
          fail isdir 'became a directory during the push; nothing committed'
        fi
        # Only a resumable push keeps a record of ranges: no rm (a process start) for the others.
        committed=1; [ "$resume" != 1 ] || rm -f -- "$tmp.ranges"
        # The file again for its mode, set after it was flushed; the directory for the rename.
        fsync_file "$p" "$dir"
        done_with 0 committed "$n" "$h" ;;
      abort) rm -f -- "$tmp" "$tmp.ranges"; committed=1; done_with 0 aborted ;;
    esac
  done
  exit 2
}

# control_cleanup: push_control's end, whatever ends it (its EXIT trap), once: the saved script
# goes, and the temporary file (unless committed), or a resumable transfer gives it back.
# $tmp.owner goes last: while it is there, the guardian knows the cleanup is not done. One rm,
# with further signals ignored: a second SIGTERM must not cut the cleanup short.
control_cleanup() {
  [ -z "${cleaned:-}" ] || return 0
  cleaned=1
  trap "" HUP INT TERM
  # A commit cut short leaves no flush of its running.
  [ -z "${flushing:-}" ] || wait "$flushing" 2>/dev/null
  [ -z "$sf" ] || rm -f -- "$sf"
  if [ "$resume" = 1 ]; then release control; rm -f -- "$tmp.sum.status" "$tmp.owner"
  elif [ "$committed" = 1 ]; then rm -f -- "$tmp.sum" "$tmp.sum.status" "$tmp.owner"
  else rm -f -- "$tmp" "$tmp.sum" "$tmp.sum.status" "$tmp.owner"; fi
}
# done_with STATUS WORD ARGS...: the control script's last reply, after its cleanup: the local
# side takes the reply as the end of the transfer, so nothing may be left once it arrives.
done_with() {
  dw_status=$1; shift
  control_cleanup
  say "$@"
  exit "$dw_status"
}

# tick: the pause before the next look of a loop that watches a running transfer (its caller
# sets ticks=0 first): a quarter second for the first 2 seconds, then a second. Each look forks
# (sleep; stat, sync and read_back's dd in watch_upload), 8-12 ms of CPU per process on a small
# virtual machine: four looks a second of both loops took about 0.15 CPU-s per second of a
# push, a sixth of the CPU of a 1 GiB push. A long transfer needs no finer look than a second.
tick() {
  ticks=$((ticks + 1))
  if [ "$ticks" -le 8 ]; then sleep 0.25 2>/dev/null || sleep 1; else sleep 1; fi
}

# guard: a guardian in the background for a death no trap sees (SIGKILL, the OOM killer): once
# this script is gone and its EXIT trap has not finished (its $tmp.owner is still there), it
# cleans up in its place. No commit can follow a death, and a committed file was renamed away
# from $tmp, so removing $tmp is always right; a resumable transfer gives its file back instead.
# Its output goes nowhere: the session ends with this script, not with the guardian.
guard() {
  g_owner=$$
  ( trap '' HUP INT TERM PIPE
    ticks=0
    while kill -0 "$g_owner" 2>/dev/null; do tick; done
    [ -f "$tmp.owner" ] || exit 0
    rm -f -- "$dir/.sshstream-$tag.sh" "$tmp.sum.status"
    if [ "$resume" = 1 ]; then release control; else rm -f -- "$tmp" "$tmp.sum"; fi
    rm -f -- "$tmp.owner"
  ) </dev/null >/dev/null 2>&1 &
}

# commit_inplace BYTES DIGEST: for a destination that cannot be renamed over (a bind-mounted
# file): the verified temporary file is copied into it (not atomic: a failure midway leaves it
# damaged), written back, and the destination itself hashed again. Exits: committed, mismatch
# (exit 3, "inplace" added) or an I/O failure.
commit_inplace() {
  e=$(cat -- "$tmp" 2>&1 > "$p") || fail io "cannot write into place: $e (the destination may be damaged: an in-place copy is not atomic)"
  fsync_file "$p"
  [ -z "$given_mode" ] || e=$(chmod "$mode" "$p" 2>&1) || fail io "chmod: $e"
  rm -f -- "$tmp" "$tmp.ranges"; committed=1
  size_of "$p"; n=$sz; digest_of "$p"; h=$dg
  if [ "$n" != "$1" ] || [ "$h" != "${2:-}" ]; then done_with 3 mismatch "$n" "$h" inplace; fi
  done_with 0 committed "$n" "$h"
}

# reader COMMAND...: runs COMMAND (the one reading stdin) with its pid in $tmp.pid, so that
# the watcher in push_data can stop it. The file goes as soon as COMMAND has ended: its pid may
# soon be another process's, which the watcher must never signal.
reader() {
  sh -c 'm=$(umask); umask 077; echo $$ > "$0.pid"; umask "$m"; exec "$@"' "$tmp" "$@"
  set -- $?
  rm -f -- "$tmp.pid"
  return "$1"
}

# gone: fails when the temporary file was removed under a running data session.
gone() {
  [ -f "$tmp" ] && return
  # Its hash, which a stage started after the removal may have written again, goes with it.
  rm -f -- "$tmp.sum"
  fail io 'the temporary file was removed during the push (called off, or its directory removed); nothing committed'
}

# receive COMMAND...: appends stdin through COMMAND to $tmp; a failure always names a cause
# (a killed tool prints nothing).
receive() {
  e=$(umask 777; reader "$@" 2>&1 >> "$tmp") && return 0
  r=$?
  gone
  [ "$r" -gt 128 ] && fail io "${e:+$e; }$1 was killed by signal $((r - 128))"
  fail io "${e:-$1 failed with status $r}"
}

# push-data PATH COMPRESS RESUME [ALGO]: waits for the line "go ALGO" on stdin (sent once the
# control script is ready), or with ALGO given starts at once (ssh reads a local file as stdin
# itself, so no line can come first; sshstream starts this session only once ready); then appends the rest of stdin (decompressed) to the temporary file that
# push-control made. With ALGO (not "-") the bytes are hashed as they land, read back from the
# file (into $tmp.sum, see read_back), so the commit need not read the file again; the commit
# still counts the bytes on disk. EOF before "go" means the transfer was called off: nothing to do.
push_data() {
  path=$1 compress=$2 resume=$3 algo=${4:-}
  if [ -z "$algo" ]; then
    IFS=' ' read -r go algo || exit 0
    [ "$go" = go ] || exit 0
  fi
  [ "$algo" = - ] && algo=
  resolve "$path" "$resume"
  # A resumable transfer's file: claimed before it is opened (see release).
  if [ "$resume" = 1 ]; then
    mkdir -- "$tmp.d" 2>/dev/null || fail io 'temporary file is gone (transfer aborted?)'
    trap 'trap "" HUP INT TERM; release data' EXIT
  fi
  [ -f "$tmp" ] || fail io 'temporary file is gone (transfer aborted?)'
  rm -f -- "$tmp.sum" "$tmp.ranges"
  case $compress in
    gzip) set -- gzip -dc ;;
    zstd) set -- zstd -qdc ;;
    *) set -- cat ;;
  esac
  # The control script may remove the file (an abort, a lost connection) after the check
  # above; an append then creates it again, with mode 000 (umask 777 when writing): never
  # leave that one behind, even when the connection is gone (no SIGPIPE death on reporting).
  # A file that is gone (removed by the control script) leaves no hash behind either.
  trap 'trap "" HUP INT TERM; rm -f -- "$tmp.pid"; tm=$(file_mode "$tmp"); [ "${tm:-0}" != 0 ] || rm -f -- "$tmp" "$tmp.sum"; [ "$resume" != 1 ] || release data' EXIT
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap '' PIPE
  # watch_upload writes the file back to disk every quarter second (every second after the
  # first 2 s: see tick) while the data arrives, so the fsync before the rename has little left
  # to do; where sync takes no FILE it only watches. The control script removes the file when
  # the push is called off, also when sshstream was killed outright and only its ssh client,
  # reading a file by itself, still sends: then the process reading our stdin (its pid in
  # $tmp.pid) is stopped, so the upload ends. A file of
  # mode 000 is one our append made again after that removal. A control script killed
  # outright (its pid in $tmp.owner) removes nothing: then this loop stops the upload, and
  # cleans up in its place (the file, and the script saved for a direct push) as its
  # guardian does. It stops with this script.
  parent=$$
  owner=$(cat "$tmp.owner" 2>/dev/null)
  # A sync that ignores its FILE (BSD, macOS) would write back the whole system four times a
  # second: one that succeeds on a file that does not exist is such a one.
  if sync -- "$tmp.absent" 2>/dev/null; then nosync=1; fi
  if [ -n "$algo" ] && [ "$algo" != none ]; then
    need_hash "$algo"
    receive_hashed "$@"
  else
    (exec </dev/null >/dev/null 2>&1; watch_upload) &
    receive "$@"
  fi
  tm=$(file_mode "$tmp")
  if [ "${tm:-0}" = 0 ]; then
    rm -f -- "$tmp" "$tmp.sum"; fail io 'temporary file is gone (transfer aborted?)'
  fi
  exit 0
}

# push-range PATH RESUME OFFSET: writes stdin into the temporary file from OFFSET (a multiple of
# 1 MiB) on, leaving the rest as it is: one of the sessions that carry a file in parallel ranges,
# each on its own SSH channel (one channel moves at most its window, 2 MiB, per round trip). dd
# with seek and conv=notrunc is in POSIX and BusyBox alike. The commit hashes the file on disk.
push_range() {
  path=$1 resume=$2 offset=$3
  resolve "$path" "$resume"
  [ -f "$tmp" ] || fail io 'temporary file is gone (transfer aborted?)'
  # As in push_data: a file the control script removed meanwhile comes back with mode 000.
  trap 'trap "" HUP INT TERM; [ "$(file_mode "$tmp")" != 0 ] || rm -f -- "$tmp"' EXIT
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap '' PIPE
  e=$(umask 777; dd of="$tmp" bs=1048576 seek=$((offset / 1048576)) conv=notrunc 2>&1) || {
    r=$?; gone
    [ "$r" -gt 128 ] && fail io "dd was killed by signal $((r - 128))"
    fail io "${e:-dd failed with status $r}"
  }
  [ "$(file_mode "$tmp")" != 0 ] || fail io 'temporary file is gone (transfer aborted?)'
  exit 0
}

# watch_upload: push_data's watcher (see there), a loop in the background that ends with the
# data session. After each look it prints the file's size: read_back follows those lines.
watch_upload() {
  ticks=0
  while tick && kill -0 "$parent"; do
    # A resumable file is the control script's guardian's to give back (see guard): it
    # needs $tmp.owner to tell that death from a normal end.
    if [ -n "$owner" ] && ! kill -0 "$owner"; then
      [ "$resume" = 1 ] || rm -f -- "$tmp.owner" "$dir/.sshstream-$tag.sh" "$tmp" "$tmp.sum"
      dead=1
    fi
    ms=
    [ -n "${dead:-}" ] || [ ! -f "$tmp" ] || ms=$(mode_and_size "$tmp")
    if [ -n "${dead:-}" ] || [ ! -f "$tmp" ] || [ "${ms%% *}" = 0 ] || [ ! -f "$tmp.owner" ]; then
      [ -f "$tmp.pid" ] && kill "$(cat "$tmp.pid")"
      exit 0
    fi
    [ -n "${nosync:-}" ] || sync -- "$tmp" || nosync=1
    [ -z "$ms" ] || echo "${ms#* }"
  done
}

# mode_and_size FILE: "MODE SIZE", the permission bits and size of FILE (see file_mode).
mode_and_size() {
  stat -L -c '%a %s' -- "$1" 2>/dev/null || stat -L -f '%Lp %z' -- "$1" 2>/dev/null || {
    ms_m=$(ls_mode "$1") && set -- $(ls -lnLd -- "$1" 2>/dev/null) && echo "$ms_m $5"
  }
}

# read_back: the temporary file on stdout as it grows, read back from the disk cache in whole
# 1 MiB blocks up to each size that watch_upload prints, then the rest after the line "end",
# once the writer has finished. So the hash is of the bytes in the file, in the same pass as
# they arrive, without tee: tee moves 8 KiB per system call, and writing every byte into a
# pipe to the hash tool as well as into the file cost more CPU than the hash itself.
read_back() {
  rb=0
  while IFS= read -r rb_size; do
    case $rb_size in end) break ;; '' | *[!0-9]*) continue ;; esac
    rb_n=$((rb_size / 1048576 - rb))
    [ "$rb_n" -gt 0 ] || continue
    dd if="$tmp" bs=1048576 skip="$rb" count="$rb_n" 2>/dev/null || return
    rb=$((rb + rb_n))
  done
  dd if="$tmp" bs=1048576 skip="$rb" 2>/dev/null
}

# receive_hashed COMMAND...: like receive, with read_back feeding the hash tool. Without
# pipefail each stage reports its own failure, as a tagged line kept in memory with the error
# text: on a full disk no file can hold it. The watcher's output goes to read_back, and
# nowhere else, or the $(...) would wait for it to end (and a shell that saves the descriptors
# it redirects for a function call keeps copies: so exec, in a subshell of its own).
receive_hashed() {
  o=$( { { (exec </dev/null 2>/dev/null 3>&-; watch_upload) &
           { umask 777; reader "$@" >> "$tmp" || echo "$tag failed $1 $?" >&3; }
           echo end; } |
         { read_back || echo "$tag failed dd $?" >&3; } |
         { eval "$H" > "$tmp.sum" || echo "$tag failed ${H%% *} $?" >&3; }
       } 3>&1 2>&1)
  f=$(printf '%s\n' "$o" | sed -n "s/^$tag failed //p" | sort -k 2n | head -n 1)
  [ -z "$f" ] && return 0
  gone
  e=$(printf '%s\n' "$o" | sed "/^$tag failed /d")
  rm -f -- "$tmp.sum"
  what=${f% *}; r=${f##* }
  [ "$r" -gt 128 ] && fail io "${e:+$e; }$what was killed by signal $((r - 128))"
  fail io "${e:-$what failed with status $r}"
}

# pull PATH ALGO COMPRESS LEVEL WANT PREFIX: "<tag> <size> <offset>" then the file on stdout
# from OFFSET on; the count and digest of all the bytes read, in the same pass, on stderr as
# "<tag> sum <bytes> <digest>". OFFSET is WANT when the first WANT bytes hash to PREFIX (the
# local partial file of a resumed pull), else 0. The count is the file's size when its stamp
# is the same after the read as before, else "-" (a file that changed while it was read) and
# the digest alone vouches for the bytes; only without a digest (none) are they counted, as
# the pass the hash would have been: a third tee output into wc cost more CPU than the hash.
pull() {
  path=$1 algo=$2 compress=$3 level=$4 want=$5 prefix=$6
  resolve "$path"
  need_hash "$algo"
  case $compress in auto:*) ;; ?*) need_tool "$compress" ;; esac
  [ -e "$p" ] || fail enoent 'no such file'
  [ -d "$p" ] && fail isdir 'is a directory'
  [ -r "$p" ] || fail eacces 'permission denied'
  size=-
  [ -f "$p" ] && size_of "$p" && size=$sz
  offset=0
  if [ "${want:-0}" -gt 0 ] && [ "$size" != - ] && [ "$size" -ge "$want" ] &&
    [ "$(head -c "$want" < "$p" | eval "$H" | sed 's/^.*= *//; s/ .*//')" = "$prefix" ]; then
    offset=$want
  fi
  # The work directory goes whatever ends this script: a reader that went away early (| head,
  # Ctrl-C, a full local disk) shows up here as SIGPIPE on our stdout or stderr, or as a signal.
  work=
  trap 'trap "" HUP INT TERM PIPE; [ -z "$work" ] || rm -rf -- "$work"' EXIT
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 141' PIPE
  if [ -z "$compress" ] && [ "$offset" = 0 ] && [ "$algo" != none ] && [ "$size" != - ] &&
    [ "$size" -le 1048576 ]; then
    pull_small
    return
  fi
  make_workdir
  mkfifo "$t/h" || fail io 'mkfifo failed'
  if [ "$algo" = none ]; then wc -c < "$t/h" > "$t/count" &
  else eval "$H" < "$t/h" > "$t/hash" &
  fi
  case $compress in auto:*) auto_compress "${compress#auto:}" ;; esac
  stamp=-
  [ "$size" = - ] || { stamp_of; stamp=$sp; }
  say "$size" "$offset" "${compress:--}"
  if [ -z "$compress" ] && [ "$offset" = 0 ]; then
    read_twice || r=1
  else
    { read_twice || : > "$t/fail"; } | skip_to "$offset" | squeeze || r=1
  fi
  wait
  [ -z "${r:-}" ] && [ ! -e "$t/fail" ] || fail io 'read error'
  if [ "$algo" = none ]; then
    h=; c=; IFS= read -r c < "$t/count"; number_in "$c"; c=$sz
  else
    h=; IFS= read -r h < "$t/hash"; digest_in "$h"; h=$dg
    c=-; [ "$stamp" = - ] || { stamp_of; [ "$sp" != "$stamp" ]; } || c=$size
  fi
  say sum "$c" "$h" >&2
}
# pull_small: a regular file of at most 1 MiB, sent as pull does, without the work directory,
# fifo and background hash: their process starts cost more than the bytes. The file is read
# again from the disk cache for the digest; a change in between makes the digests differ, as
# in read_twice, and a changed stamp withholds the count.
pull_small() {
  stamp_of; stamp=$sp
  say "$size" 0 -
  cat -- "$p" || fail io 'read error'
  digest_of "$p"
  [ -n "$dg" ] || fail io 'read error'
  stamp_of; c=-; [ "$sp" != "$stamp" ] || c=$size
  say sum "$c" "$dg" >&2
}
# read_twice: the file on stdout and into the hash's fifo. A regular file goes in chunks of
# 64 MiB, each read again from the disk cache into the fifo while the next one goes out: tee
# moves 8 KiB per system call, and writing every byte into the fifo too cost more CPU than the
# hash. The hash is of the bytes sent all the same: a chunk that changed between its two reads
# (a file written meanwhile) makes the digests differ, and the pull fails instead of verifying.
# Anything else (a FIFO, a device: one read only) goes through tee.
read_twice() {
  if [ "$size" = - ]; then tee -- "$t/h" < "$p"; return; fi
  (
    exec 4> "$t/h"
    k=0 fed=
    while :; do
      dd if="$p" bs=1048576 skip="$k" count=64 2>/dev/null || exit
      [ -z "$fed" ] || wait "$fed" || exit
      dd if="$p" bs=1048576 skip="$k" count=64 2>/dev/null >&4 &
      fed=$! k=$((k + 64))
      [ $((k * 1048576)) -lt "$size" ] || break
    done
    wait "$fed" || exit
    # What the file grew by since its size was taken.
    dd if="$p" bs=1048576 skip="$k" 2>/dev/null && dd if="$p" bs=1048576 skip="$k" 2>/dev/null >&4
  )
}
# auto_compress TOOLS: sets compress and level to the first of zstd, gzip that both ends have
# (TOOLS: the local side's, comma-separated), or to none when the file is not a regular file or
# its first 64 KiB do not shrink below 90% (random or compressed data would only cost time).
auto_compress() {
  compress=
  for c in zstd gzip; do
    case ",$1," in *",$c,"*) command -v "$c" >/dev/null 2>&1 && { compress=$c; break; } ;; esac
  done
  [ -n "$compress" ] && [ -f "$p" ] || { compress=; return 0; }
  n=$(head -c 65536 < "$p" | wc -c | tr -d ' ')
  z=$(head -c 65536 < "$p" | "$compress" -1 -c | wc -c | tr -d ' ')
  [ "$n" -gt 0 ] && [ $((z * 10)) -lt $((n * 9)) ] || compress=
  case $compress in gzip) level=1 ;; zstd) level=3 ;; esac
}
# make_workdir: a private directory for the fifos, in $TMPDIR, else /tmp, /var/tmp or the home
# directory (a read-only /tmp must not stop a pull); sets t and work.
make_workdir() {
  for w in "${TMPDIR:-/tmp}" /tmp /var/tmp "${HOME:-/tmp}"; do
    t=$w/.sshstream-$tag
    e=$(mkdir -m 700 -- "$t" 2>&1) && { work=$t; return 0; }
  done
  fail io "cannot create a work directory in \$TMPDIR, /tmp, /var/tmp or \$HOME: $e"
}
skip_to() { if [ "$1" -gt 0 ]; then tail -c +$(($1 + 1)); else cat; fi; }
squeeze() { if [ -n "$compress" ]; then "$compress" -c "-$level"; else cat; fi; }

# pull-control PATH ALGO: the control session of a pull in ranges. Says "ready SIZE STAMP"
# (SIZE "-": not a regular file), then answers commands on stdin: ping (pong: the local side
# times the round trip), sum (the digest of the whole file, read once here while the ranges
# travel) and pull ARGS... (encoded: this session carries the whole file itself, as the pull
# operation does, and ends; no second session for a pull in one stream). EOF ends it.
pull_control() {
  path=$1 algo=$2
  resolve "$path"
  need_hash "$algo"
  [ -e "$p" ] || fail enoent 'no such file'
  [ -d "$p" ] && fail isdir 'is a directory'
  [ -r "$p" ] || fail eacces 'permission denied'
  size=-
  [ -f "$p" ] && size_of "$p" && size=$sz
  stamp_of
  say ready "$size" "$sp"
  while IFS= read -r line; do
    case $line in
      ping) say pong ;;
      sum)
        h=-
        if [ "$algo" != none ]; then
          digest_of "$p"; h=$dg
          [ -r "$p" ] && [ -n "$h" ] || fail io 'read error'
        fi
        say sum "$h" ;;
      # pull ARGS...: this session carries the file itself; the arguments come octal-encoded.
      pull\ *)
        set -- $line; shift; eval "set -- $(decoded "$@")"
        pull "$@"; exit 0 ;;
    esac
  done
  exit 0
}
# stamp_of: in $sp, what changes when $p is written or replaced: size, times to the nanosecond
# and inode where there is stat, else ls (without the name, which may hold a line break) and
# date -r (OpenWrt's BusyBox), as one word: each blank an _, and an _ where stat's line ended,
# as tr made them before (a resumed pull compares the stamp it saved), but without starting
# tr, which cost 7 ms here, twice in a small pull.
stamp_of() {
  if sp=$(stat -L -c '%s.%y.%z.%i' -- "$p" 2>/dev/null || stat -L -f '%z.%m.%c.%i' -- "$p" 2>/dev/null); then
    sp=${sp}_
  elif sp=$(ls -lnLdi -- "$p" 2>/dev/null) && st_d=$(date -r "$p" +%s 2>/dev/null); then
    sp=${sp%"$p"}_${st_d}_
  else sp=; fi
  while case $sp in *' '*) true ;; *) false ;; esac; do sp=${sp%%' '*}_${sp#*' '}; done
}
# pull-range PATH OFFSET LENGTH [direct]: "<tag> range", then LENGTH bytes of the file from
# OFFSET (a multiple of 1 MiB) on stdout, read by dd in 1 MiB blocks (the last may be short);
# then on stderr "<tag> stamp STAMP", taken after the read: every range's equal to
# pull-control's first one means the file did not change while any range was read (a change
# after that shows in the digest). The local side counts the bytes; the digest comes from
# pull-control. With "direct" stdout is the local file itself (ssh writes it): the header line
# goes to stderr (it says the session runs), only the bytes to stdout.
pull_range() {
  path=$1 offset=$2 length=$3
  resolve "$path"
  [ -f "$p" ] || fail enoent 'no such file (removed during the transfer?)'
  [ -r "$p" ] || fail eacces 'permission denied'
  if [ "${4:-}" = direct ]; then say range >&2; else say range; fi
  exec 3>&1
  e=$(dd if="$p" bs=1048576 skip=$((offset / 1048576)) count=$(((length + 1048575) / 1048576)) 2>&1 >&3 3>&-) ||
    fail io "read error${e:+: $(printf '%s\n' "$e" | sed '/records/d' | head -n 1)}"
  stamp_of
  say stamp "$sp" >&2
  exit 0
}

case $op in
  push-control) push_control "$@" ;;
  push-data) push_data "$@" ;;
  push-range) push_range "$@" ;;
  pull) pull "$@" ;;
  pull-control) pull_control "$@" ;;
  pull-range) pull_range "$@" ;;
  exec)
    # The command's output starts after this line: a noisy login shell's output comes before.
    say start
    exec "$@" ;;
  *) fail usage "unknown operation $op" ;;
esac
