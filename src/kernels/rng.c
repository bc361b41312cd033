/* rng.c: xoshiro256** with splitmix64 seeding; Box-Muller Gaussians. */
#include <math.h>
#include "kernels.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ln_rng_seed(ln_Rng *r, uint64_t seed) {
  uint64_t x = seed;
  int i;
  for (i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->spare = 0.0;
  r->has_spare = 0;
}

uint64_t ln_rng_next(ln_Rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double ln_rng_uniform(ln_Rng *r) {
  return (double)(ln_rng_next(r) >> 11) * 0x1.0p-53;
}

double ln_rng_normal(ln_Rng *r) {
  double u1, u2, rad, th;
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  u1 = 1.0 - ln_rng_uniform(r); /* (0, 1]: log is finite */
  u2 = ln_rng_uniform(r);
  rad = sqrt(-2.0 * log(u1));
  th = 6.283185307179586476925 * u2;
  r->spare = rad * sin(th);
  r->has_spare = 1;
  return rad * cos(th);
}

uint64_t ln_rng_below(ln_Rng *r, uint64_t n) {
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n); /* multiple of n */
  uint64_t x;
  do x = ln_rng_next(r); while (x >= limit);
  return x % n;
}

void ln_rng_permutation(ln_Rng *r, size_t n, size_t *perm) {
  size_t i;
  for (i = 0; i < n; i++) perm[i] = i;
  for (i = n; i > 1; i--) {
    size_t j = (size_t)ln_rng_below(r, (uint64_t)i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}
