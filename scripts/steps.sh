# Sourced by scripts/test and scripts/test-long: named, timed steps, background set-up jobs,
# and a table of every step's wall time at the end (so drift shows from run to run).
# shellcheck shell=bash

_steps=()
_step_name=""
_step_start=0
_tier_start=$(date +%s)

_step_end() {
  if [ -n "$_step_name" ]; then
    local took=$(( $(date +%s) - _step_start ))
    _steps+=("$(printf '%5ds  %s' "$took" "$_step_name")")
    printf '    (%ds)\n' "$took"
  fi
  _step_name=""
}

# step NAME: ends the previous step (printing its time) and starts the next.
step() {
  _step_end
  _step_name="$*"
  _step_start=$(date +%s)
  printf '\n==> %s\n' "$*"
}

# in_background NAME COMMAND...: runs a set-up command on the side, its output in a log;
# `await NAME` waits for it in this shell (failing with the log if it failed), and
# `result NAME` prints its stdout. (`wait` cannot be called inside `$(…)`: a subshell has no
# children of this shell to wait for.)
declare -A _bg_pid _bg_log
in_background() {
  local name=$1; shift
  _bg_log[$name]=$(mktemp)
  ( "$@" > "${_bg_log[$name]}.out" 2> "${_bg_log[$name]}" ) &
  _bg_pid[$name]=$!
}
await() {
  local name=$1
  if ! wait "${_bg_pid[$name]}"; then
    echo "set-up '$name' failed:" >&2
    cat "${_bg_log[$name]}" >&2
    return 1
  fi
}
result() {
  cat "${_bg_log[$1]}.out"
}

# timings TIER: ends the last step and prints every step's time and the total.
timings() {
  _step_end
  printf '\n==> %s: step timings\n' "$1"
  printf '%s\n' "${_steps[@]}"
  printf '%5ds  total\n' "$(( $(date +%s) - _tier_start ))"
}

# The nextest filter of the long tier's Rust tests; the fast tier runs the others.
# shellcheck disable=SC2034
LONG_TESTS='test(/^torture::/) | test(/^sync_random::/) | test(/^fault_storm::/)
  | test(=state_files::the_state_stays_the_same_size_over_1000_committed_batches)
  | (test(/^object_store::/) & not test(=object_store::export_and_sync_to_s3_are_byte_identical_to_the_local_directory_run))
  | test(=load_pg::loads_killed_at_random_points_resume_to_the_same_tables)'

# nextest, installed from crates.io when the machine lacks it (Rust machines here have it).
ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
  fi
}
