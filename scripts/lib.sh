# shellcheck shell=bash
# Shared helpers for the scripts in scripts/.
# Source it; do not run it. Needs only bash (4+) and coreutils.

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 3))); then
  echo "error: these scripts need bash 4.3 or newer (this is $BASH_VERSION)" >&2
  exit 1
fi

# Repository root: the parent of the directory holding this file.
UNDERSTUDY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export UNDERSTUDY_ROOT

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  _c_bold=$'\e[1m' _c_red=$'\e[31m' _c_yellow=$'\e[33m' _c_reset=$'\e[0m'
else
  _c_bold='' _c_red='' _c_yellow='' _c_reset=''
fi

# say MSG...    : a progress line on stdout.
say() { printf '%s==>%s %s\n' "$_c_bold" "$_c_reset" "$*"; }
# warn MSG...   : a warning on stderr.
warn() { printf '%swarning:%s %s\n' "$_c_yellow" "$_c_reset" "$*" >&2; }
# die MSG...    : an error on stderr, then exit 1.
die() {
  printf '%serror:%s %s\n' "$_c_red" "$_c_reset" "$*" >&2
  exit 1
}

# build_version [DIR]: the version builds are stamped with, `git describe
# --always --dirty` of DIR (default: the repository), or "dev" outside git.
build_version() {
  git -C "${1:-$UNDERSTUDY_ROOT}" describe --always --dirty 2>/dev/null || printf 'dev\n'
}

# version_ldflag VERSION: the -X linker flag that stamps VERSION into the
# binary (server.Version: --version, INFO, the admin Status).
version_ldflag() {
  printf -- '-X github.com/understudy/understudy/server.Version=%s\n' "$1"
}

# now_ms: milliseconds since the epoch (bash 5 has EPOCHREALTIME; else date).
now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s\n' "$((10#${t:0:${#t}-3}))"
  else
    printf '%s\n' "$(($(date +%s) * 1000))"
  fi
}

# abspath PATH: PATH made absolute against the current directory (the path
# need not exist).
abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd -P)" "${1#./}" ;;
  esac
}

# tcp_open HOST PORT: succeeds if something accepts a TCP connection there.
# Uses bash's /dev/tcp; a connection to a loopback port is refused at once, and
# `timeout` (when present) bounds the rare case of a connect that hangs.
tcp_open() {
  local host=$1 port=$2
  if command -v timeout >/dev/null 2>&1; then
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

# resp_command HOST PORT ARG...: sends one RESP command over bash's /dev/tcp
# and prints the reply's payload: for a simple string, error or integer the
# line after its type byte (errors keep their leading "-"), for a bulk string
# its contents; arrays are printed one element per line (one level deep).
# Fails if the connection cannot be made or no reply comes within
# RESP_TIMEOUT seconds (default 2).
resp_command() {
  local host=$1 port=$2
  shift 2
  local t=${RESP_TIMEOUT:-2}
  local req arg
  req="*$#"$'\r\n'
  for arg in "$@"; do
    req+="\$${#arg}"$'\r\n'"$arg"$'\r\n'
  done
  (
    export LC_ALL=C # byte counts in RESP == character counts for read -N
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf '%s' "$req" >&3
    _resp_read_value 3 "$t" 1
    rc=$?
    exec 3>&-
    exit "$rc"
  ) 2>/dev/null
}

# _resp_read_value FD TIMEOUT DEPTH: reads one RESP value from FD (see above).
_resp_read_value() {
  local fd=$1 t=$2 depth=$3 line n body i
  IFS= read -r -t "$t" -u "$fd" line || return 1
  line=${line%$'\r'}
  case "$line" in
    '+'* | ':'*) printf '%s\n' "${line:1}" ;;
    '-'*) printf '%s\n' "$line" ;;
    '$'*)
      n=${line:1}
      [[ "$n" =~ ^-?[0-9]+$ ]] || return 1
      ((n < 0)) && return 0 # null bulk string
      body=''
      if ((n > 0)); then
        IFS= read -r -d '' -t "$t" -N "$n" -u "$fd" body || return 1
      fi
      IFS= read -r -t "$t" -u "$fd" line || return 1 # trailing CRLF
      printf '%s\n' "$body"
      ;;
    '*'*)
      n=${line:1}
      [[ "$n" =~ ^-?[0-9]+$ ]] || return 1
      ((depth > 3)) && return 1
      for ((i = 0; i < n; i++)); do
        _resp_read_value "$fd" "$t" $((depth + 1)) || return 1
      done
      ;;
    *) return 1 ;;
  esac
}

# apt_need CMD:PKG...: installs from Debian's packages the PKG of every CMD
# that is not on PATH (one apt-get update, through sudo when not root), or
# dies saying what is missing. Debian's packages may start their services on
# install; the scripts run their own servers on their own ports either way.
apt_need() {
  local missing=() spec
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
  done
  ((${#missing[@]} == 0)) && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  say "installing ${missing[*]} from Debian's packages"
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

# For scripts that start every process of theirs in a working directory
# under $STATE (bench.sh, partition-bench.sh).
#
# ours PID: PID is alive and runs in our state dir (Redis rewrites its command
# line, so that cannot tell), so a recycled PID is never signalled.
ours() {
  local cwd
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
  [[ "$cwd" == "$STATE"/* ]]
}

# stop_pids PID...: SIGTERM those that are ours, wait up to 10 s, SIGKILL the
# rest.
stop_pids() {
  local pid left deadline
  for pid in "$@"; do
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  deadline=$(($(now_ms) + 10000))
  while :; do
    left=()
    for pid in "$@"; do
      if ours "$pid" && [[ "$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
        left+=("$pid")
      fi
    done
    ((${#left[@]} == 0)) && return 0
    (($(now_ms) >= deadline)) && break
    sleep 0.1
  done
  for pid in "${left[@]}"; do
    warn "pid $pid did not stop after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}
