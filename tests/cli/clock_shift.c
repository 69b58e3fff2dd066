// Moves the wall clock of one process forward by ACCT_TEST_CLOCK_SHIFT_S
// seconds (LD_PRELOAD): the 30-day windows of PurgeUser, in a test that
// cannot wait a month. Only CLOCK_REALTIME: timeouts keep their clock.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
int clock_gettime(clockid_t id, struct timespec* ts) {
  static int (*real)(clockid_t, struct timespec*);
  if (!real) real = (int (*)(clockid_t, struct timespec*))dlsym(RTLD_NEXT, "clock_gettime");
  int r = real(id, ts);
  const char* shift = getenv("ACCT_TEST_CLOCK_SHIFT_S");
  if (r == 0 && shift && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += atol(shift);
  return r;
}
