/*
** test/adamcheck.c: `make adamcheck`.  Checks src/kernels/optim.c's Adam
** against the float expression it must equal bit for bit:
**   1. div_fast (a / b without a divide) against the divide for every
**      mantissa of a in three binades ([1, 2) and the ends of the range
**      adam_bulk16 gives it, 2^-78 and 2^89) and the divisors of the first 400 steps' bias corrections
**      (default betas) and 400 other divisors in [2^-32, 1];
**   2. ln_adam on random elements (zeros, subnormals, tiny, typical, huge,
**      inf and NaN gradients, momentums, caches and weights; dead units whose
**      momentum decays through [2^-126, 2^-60] and weights whose gradients
**      stay in [2^-56, 2^-54), both with w = 0) for 40 steps (200 with the
**      default betas, so that c1 rounds to 1 from step 165 and m is not
**      divided), with default and other betas, against adam_exact (each
**      float operation in double, rounded once) on every element.
** Exits 1 with the first mismatch.  Runs the scalar paths too on a CPU
** without AVX-512 (part 1 is then skipped).
*/
#include "../src/kernels/optim.c"
#include <stdio.h>
#include <stdlib.h>

static uint64_t rs = 0x9E3779B97F4A7C15u;
static uint32_t rnd32(void) { /* xorshift64* */
  rs ^= rs >> 12; rs ^= rs << 25; rs ^= rs >> 27;
  return (uint32_t)((rs * 2685821657736338717u) >> 32);
}

/* a float of one of the kinds Adam meets, as bits: one of the unusual
** kinds (0-5) odd times in 1024 */
static uint32_t pick(int nonneg, uint32_t odd) {
  uint32_t s = nonneg ? 0u : (rnd32() & 0x80000000u), k = rnd32() % 1024 < odd ? rnd32() % 6 : 6, e;
  if (k == 0) return s;                                           /* +-0 */
  if (k == 1) return s | (rnd32() & 0x007fffffu) | 1u;            /* subnormal */
  if (k == 2) return s | 1u;                                      /* smallest subnormal */
  if (k == 3) return s | ((1u + rnd32() % 130) << 23) | (rnd32() & 0x007fffffu); /* tiny normal */
  if (k == 4) return s | ((200u + rnd32() % 55) << 23) | (rnd32() & 0x007fffffu); /* huge */
  if (k == 5) return s | (rnd32() % 32 == 0 ? 0x7f800000u : 0x7fc00000u | (rnd32() & 0xffu)); /* inf, NaN */
  e = 100u + rnd32() % 30;                                        /* typical: 2^-27 .. 2^2 */
  return s | (e << 23) | (rnd32() & 0x007fffffu);
}

static int same(uint32_t a, uint32_t b) {
  int na = (a & 0x7fffffffu) > 0x7f800000u, nb = (b & 0x7fffffffu) > 0x7f800000u;
  return na || nb ? na == nb : a == b;
}

#ifdef LN_DEAD_VEC
/* every mantissa of a = (1.m) 2^e against the divide; returns mismatches */
__attribute__((target("avx512f"))) static long div_binade(float bf, int e) {
  const __m512 b = _mm512_set1_ps(bf), y = _mm512_set1_ps(1.0f / bf);
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  long bad = 0;
  uint32_t m, sign;
  for (sign = 0; sign < 2; sign++)
    for (m = 0; m < (1u << 23); m += 16) {
      const uint32_t base = (sign << 31) | ((uint32_t)(127 + e) << 23) | m;
      const __m512 a = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_set1_epi32((int)base), lane));
      bad += __builtin_popcount(_mm512_cmpneq_epi32_mask(_mm512_castps_si512(div_fast(a, b, y)),
                                                         _mm512_castps_si512(_mm512_div_ps(a, b))));
    }
  return bad;
}

/* a cache below 2^-102, where div_fast is wrong for some mantissas (its
** remainder underflows), must not reach it unscaled: find gradients g for
** which a2 g^2 / c2 by div_fast differs from the divide, put each in a
** vector of its own (m = v = w = 0, epsilon 1e-30: w1 is the step), and
** compare ln_adam with adam_exact */
__attribute__((target("avx512f"))) static int check_small_cache(void) {
  const float b1 = 0.9f, a1 = 0.1f, b2 = 0.999f, a2 = 1.0f - 0.999f, c1 = 0.1f, c2 = (float)(1.0 - 0.999);
  const float lr = 0.001f, eps = 1e-30f;
  int found = 0, tries, i;
  for (tries = 0; tries < 100000 && found < 16; tries++) {
    uint32_t gb = (71u << 23) | (rnd32() & 0x007fffffu); /* g in [2^-56, 2^-55) */
    float gv, a, q[16], g[16] = { 0 }, m[16] = { 0 }, v[16] = { 0 }, w[16] = { 0 };
    float M[16] = { 0 }, V[16] = { 0 }, W[16] = { 0 };
    memcpy(&gv, &gb, 4);
    a = a2 * (gv * gv);
    _mm512_storeu_ps(q, div_fast(_mm512_set1_ps(a), _mm512_set1_ps(c2), _mm512_set1_ps(1.0f / c2)));
    if (q[0] == a / c2) continue;
    found++;
    for (i = 0; i < 16; i++) g[i] = gv;
    ln_adam(16, lr, b1, a1, b2, a2, c1, c2, eps, g, m, v, w);
    for (i = 0; i < 16; i++) adam_exact(lr, b1, a1, b2, a2, c1, c2, eps, g + i, M + i, V + i, W + i);
    if (fbits(w) != fbits(W) || fbits(v) != fbits(V)) {
      printf("ln_adam: a cache of %a (g %a) gives w %a, the float expression %a\n", a, gv, w[0], W[0]);
      return 1;
    }
  }
  printf("ln_adam: %d caches below 2^-102 where div_fast alone is wrong: right\n", found);
  return found == 0;
}

static int check_div(void) {
  double p1 = 1.0, p2 = 1.0;
  int t, i, k;
  const int bins[3] = { 0, -78, 89 };
  for (t = 1; t <= 800; t++) {
    float d[2];
    if (t <= 400) {
      p1 *= 0.9;
      p2 *= 0.999;
      d[0] = (float)(1.0 - p1);
      d[1] = (float)(1.0 - p2);
    } else { /* any divisor in [2^-32, 1]: random, all-ones and power-of-two mantissas */
      uint32_t e = 95u + rnd32() % 32, mant = t % 3 == 0 ? 0x7fffffu : t % 3 == 1 ? 0u : rnd32() & 0x7fffffu;
      uint32_t bits = (e << 23) | mant;
      memcpy(&d[0], &bits, 4);
      d[1] = d[0];
    }
    for (i = 0; i < (t <= 400 ? 2 : 1); i++)
      for (k = 0; k < 3; k++) {
        long bad = div_binade(d[i], bins[k]);
        if (bad) {
          printf("div_fast: %ld mismatches dividing [2^%d, 2^%d) by %a\n", bad, bins[k], bins[k] + 1, d[i]);
          return 1;
        }
      }
  }
  printf("div_fast: every mantissa of 3 binades, 1200 divisors, no mismatch\n");
  return 0;
}
#endif

/* ln_adam against adam_exact on n elements for steps steps */
static int check_adam(float b1, float b2, float lr0, float eps, int steps) {
  enum { N = 4099 };
  static float g[N], m[N], v[N], w[N], M[N], V[N], Wr[N];
  const float a1 = 1.0f - b1, a2 = 1.0f - b2;
  double p1 = 1.0, p2 = 1.0;
  int t;
  size_t i;
  for (i = 0; i < N; i++) {
    /* a quarter of the vectors full of unusual values, the rest mostly usual
    ** (the vector loop takes its fast path only where all 16 are) */
    uint32_t odd = i < N / 4 ? 512u : i < N / 2 ? 16u : 1u, x = pick(0, odd), y = pick(1, odd), z = pick(0, odd);
    if (rnd32() % 8 == 0) x = 0x80000000u; /* -0: with g = -0 the momentum stays -0 */
    if (rnd32() % 8 == 0) z = 0x80000000u;
    if (i % 37 == 5) { /* a dead unit's weight: g = 0 from now on, m decaying through [2^-126, 2^-60], w = 0 */
      x = (rnd32() & 0x80000000u) | ((1u + rnd32() % 66) << 23) | (rnd32() & 0x007fffffu);
      z = 0;
    }
    if (i % 41 == 7) { /* a weight with tiny gradients: its cache stays near 2^-120, w = 0 */
      y = 0;
      z = 0;
    }
    memcpy(&m[i], &x, 4);
    memcpy(&v[i], &y, 4);
    memcpy(&w[i], &z, 4);
    M[i] = m[i]; V[i] = v[i]; Wr[i] = w[i];
  }
  for (t = 1; t <= steps; t++) {
    const float lr = (float)(lr0 * (1.0 / (1.0 + 1e-3 * (t - 1))));
    float c1, c2;
    p1 *= b1;
    p2 *= b2;
    c1 = (float)(1.0 - p1);
    c2 = (float)(1.0 - p2);
    for (i = 0; i < N; i++) {
      uint32_t x = i % 37 == 5 || rnd32() % 4 == 0 ? rnd32() & 0x80000000u /* +-0: dead units */
                                                   : pick(0, i < N / 4 ? 512u : i < N / 2 ? 16u : 1u);
      if (i % 41 == 7) x = (rnd32() & 0x80000000u) | ((71u + rnd32() % 2) << 23) | (rnd32() & 0x007fffffu);
      memcpy(&g[i], &x, 4);
    }
    ln_adam(N, lr, b1, a1, b2, a2, c1, c2, eps, g, m, v, w);
    for (i = 0; i < N; i++) adam_exact(lr, b1, a1, b2, a2, c1, c2, eps, g + i, M + i, V + i, Wr + i);
    for (i = 0; i < N; i++)
      if (!same(fbits(m + i), fbits(M + i)) || !same(fbits(v + i), fbits(V + i)) ||
          !same(fbits(w + i), fbits(Wr + i))) {
        printf("ln_adam (b1 %g, b2 %g, eps %g) step %d element %zu: m %a/%a v %a/%a w %a/%a\n", b1, b2, eps, t, i,
               m[i], M[i], v[i], V[i], w[i], Wr[i]);
        return 1;
      }
  }
  return 0;
}

int main(void) {
  int bad = 0;
#ifdef LN_DEAD_VEC
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) bad |= check_div() | check_small_cache();
  else printf("div_fast: no AVX-512 here, skipped\n");
#endif
  bad |= check_adam(0.9f, 0.999f, 0.001f, 1e-7f, 200); /* c1 is 1 from step 165 */
  bad |= check_adam(0.9f, 0.999f, 0.001f, 1e-30f, 40);
  bad |= check_adam(0.5f, 0.6f, 0.05f, 1e-7f, 40);
  bad |= check_adam(0.3f, 0.9999f, 0.01f, 1e-7f, 40);
  if (!bad) printf("ln_adam: 4 settings x 40 (default betas: 200) steps x 4099 elements equal adam_exact\n");
  return bad;
}
