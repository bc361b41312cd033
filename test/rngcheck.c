/*
** test/rngcheck.c: ln_rng_jump(r, k) leaves the generator where k calls of
** ln_rng_next would, for k across the jump table (0, 1, 63, 64, 1000,
** 2^20 + 5, ...) and from several seeds.  Prints "N passed, N failed".
*/
#include <stdio.h>
#include "kernels.h"

int main(void) {
  static const uint64_t ks[] = { 0, 1, 2, 3, 63, 64, 65, 1000, 4096, 123457, (1u << 20) + 5, 3000001 };
  static const uint64_t seeds[] = { 0, 1, 42, 0xdeadbeefULL };
  int passed = 0, failed = 0;
  size_t a, b;
  for (a = 0; a < sizeof seeds / sizeof seeds[0]; a++)
    for (b = 0; b < sizeof ks / sizeof ks[0]; b++) {
      ln_Rng x, y;
      uint64_t i;
      ln_rng_seed(&x, seeds[a]);
      ln_rng_seed(&y, seeds[a]);
      for (i = 0; i < ks[b]; i++) ln_rng_next(&x);
      ln_rng_jump(&y, ks[b]);
      if (ln_rng_next(&x) == ln_rng_next(&y) && x.s[0] == y.s[0] && x.s[3] == y.s[3]) passed++;
      else {
        failed++;
        printf("FAILED: seed %llu, jump %llu\n", (unsigned long long)seeds[a], (unsigned long long)ks[b]);
      }
    }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
