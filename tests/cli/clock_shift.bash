# clock_shift_preload ACCT WORK: builds tests/cli/clock_shift.c into WORK and
# prints the LD_PRELOAD value that moves ACCT's wall clock (with
# ACCT_TEST_CLOCK_SHIFT_S=<seconds>); ASan's runtime goes first when ACCT has it.
clock_shift_preload() {
  local acct="$1" work="$2" asan
  cc -shared -fPIC -O1 -o "$work/clock_shift.so" "$(dirname "${BASH_SOURCE[0]}")/clock_shift.c" -ldl
  asan=$(ldd "$acct" | grep -o '/[^ ]*libasan[^ ]*' || true)
  if [ -n "$asan" ]; then echo "$asan $work/clock_shift.so"; else echo "$work/clock_shift.so"; fi
}
