/* rng.c: xoshiro256** with splitmix64 seeding; Box-Muller Gaussians. */
#include <math.h>
#include <string.h>
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

/* one step of the state without the output */
static void step(uint64_t *s) {
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
}

uint64_t ln_rng_next(ln_Rng *r) {
  uint64_t result = rotl(r->s[1] * 5, 7) * 9;
  step(r->s);
  return result;
}

void ln_rng_mask(ln_Rng *r, size_t n, double keep, float on, float *mask) {
  /* u = (x >> 11) 2^-53 < keep  <=>  (x >> 11) < ceil(keep 2^53), exactly */
  uint64_t limit = (uint64_t)ceil(ldexp(keep, 53)), s[4];
  size_t i;
  memcpy(s, r->s, sizeof s); /* in registers for the loop */
  for (i = 0; i < n; i++) {
    uint64_t x = rotl(s[1] * 5, 7) * 9;
    step(s);
    mask[i] = (x >> 11) < limit ? on : 0.0f;
  }
  memcpy(r->s, s, sizeof s);
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

/* ============================================================ jumps
** xoshiro256**'s state transition is linear over GF(2), so k steps are the
** matrix T^k applied to the 256-bit state.  JUMPS matrices T^(2^i) are
** made once (by squaring; about 15 ms), and a jump by k applies those of
** k's set bits: a few microseconds, where k calls would take k x 1 ns.  It
** lets threads draw disjoint parts of one stream (Dropout masks) and still
** give the numbers of one sequential draw. */
#include <pthread.h>

#define JUMPS 48 /* jumps up to 2^48 - 1 steps */

/* row r: the state bits whose parity is bit r of the result (bit b of the
** state is bit b % 64 of s[b / 64]) */
typedef struct BitMat { uint64_t row[256][4]; } BitMat;
static BitMat jumps[JUMPS];
static pthread_once_t jumps_once = PTHREAD_ONCE_INIT;

/* y = M x */
static void matvec(const BitMat *m, const uint64_t *x, uint64_t *y) {
  int r;
  y[0] = y[1] = y[2] = y[3] = 0;
  for (r = 0; r < 256; r++) {
    const uint64_t *w = m->row[r];
    uint64_t v = (w[0] & x[0]) ^ (w[1] & x[1]) ^ (w[2] & x[2]) ^ (w[3] & x[3]);
    y[r >> 6] |= (uint64_t)__builtin_parityll(v) << (r & 63);
  }
}

/* c = a b */
static void matmul(const BitMat *a, const BitMat *b, BitMat *c) {
  int r, k;
  for (r = 0; r < 256; r++) {
    uint64_t acc[4] = { 0, 0, 0, 0 };
    for (k = 0; k < 256; k++)
      if (a->row[r][k >> 6] >> (k & 63) & 1) {
        acc[0] ^= b->row[k][0];
        acc[1] ^= b->row[k][1];
        acc[2] ^= b->row[k][2];
        acc[3] ^= b->row[k][3];
      }
    memcpy(c->row[r], acc, sizeof acc);
  }
}

static void makejumps(void) {
  int b, r, i;
  memset(&jumps[0], 0, sizeof jumps[0]);
  for (b = 0; b < 256; b++) { /* column b of T: the step of the state with only bit b set */
    uint64_t s[4] = { 0, 0, 0, 0 };
    s[b >> 6] = (uint64_t)1 << (b & 63);
    step(s);
    for (r = 0; r < 256; r++)
      if (s[r >> 6] >> (r & 63) & 1) jumps[0].row[r][b >> 6] |= (uint64_t)1 << (b & 63);
  }
  for (i = 1; i < JUMPS; i++) matmul(&jumps[i - 1], &jumps[i - 1], &jumps[i]);
}

void ln_rng_jump(ln_Rng *r, uint64_t k) {
  int i;
  if (k == 0) return;
  if (k >> JUMPS) { /* beyond the table: the rest one step at a time (never in practice) */
    uint64_t rest = k >> JUMPS << JUMPS;
    while (rest--) step(r->s);
    k &= ((uint64_t)1 << JUMPS) - 1;
  }
  pthread_once(&jumps_once, makejumps);
  for (i = 0; i < JUMPS; i++)
    if (k >> i & 1) {
      uint64_t y[4];
      matvec(&jumps[i], r->s, y);
      memcpy(r->s, y, sizeof y);
    }
}
