/*
** cpu.c: which vector instructions the kernels may use (checked at run time;
** the default build has no -march).  LUNET_CPU=avx2 or LUNET_CPU=generic
** caps it, so that one machine can test and time every path: `make test`
** runs the portable build that way too, and `make bench` times the
** products of a CPU without AVX-512.
*/
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

int ln_cpu_level(void) {
  static int level = -1;
  int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
  if (l < 0) { /* the same value from any thread; atomic so the race is defined */
    const char *cap = getenv("LUNET_CPU");
    l = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    l = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    if (cap != NULL && strcmp(cap, "avx2") == 0 && l > 1) l = 1;
    else if (cap != NULL && strcmp(cap, "generic") == 0) l = 0;
    __atomic_store_n(&level, l, __ATOMIC_RELAXED);
  }
  return l;
}
