/*
** optim.c: the optimizers' element loops (see optim.h).  Each is one flat
** loop with restrict-qualified pointers so the compiler can vectorise it;
** the operations follow the book's NumPy expressions in order, in float32,
** so results match a float32 NumPy run to rounding.
*/
/* GCC's -O2 vectorises only loops whose trip count fits the vector width;
** these flat loops need -O3's vectoriser, and sqrtf needs no-math-errno to
** vectorise (values are unchanged: no fast-math, sums keep their order) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "optim.h"
#include "kernels.h" /* ln_cpu_level */

/* the loops are compiled three times (LN_CLONES, kernels.h).  Results are
** identical in every clone: -std=c99 keeps contraction off (no FMA), and
** division and sqrt are correctly rounded at any vector width */

/* Note: the sqrtf loops vectorise with -O3 -fno-math-errno (GCC needs to
** know sqrtf cannot set errno); at the default -O2 they run scalar, which
** costs little next to the matrix products of a training step. */

/* w += -lr * g */
LN_CLONES
void ln_sgd(size_t n, float lr, const float *restrict g, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) w[i] += nlr * g[i];
}

/* u = mu * m - lr * g; m = u; w += u */
LN_CLONES
void ln_sgd_momentum(size_t n, float lr, float mu, const float *restrict g,
                     float *restrict m, float *restrict w) {
  size_t i;
  for (i = 0; i < n; i++) {
    float u = mu * m[i] - lr * g[i];
    m[i] = u;
    w[i] += u;
  }
}

/* c += g^2; w += -lr * g / (sqrt(c) + eps) */
LN_CLONES
void ln_adagrad(size_t n, float lr, float eps, const float *restrict g,
                float *restrict c, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    float ci = c[i] + g[i] * g[i];
    c[i] = ci;
    w[i] += nlr * g[i] / (sqrtf(ci) + eps);
  }
}

/* c = rho * c + a1 * g^2 (a1 = 1 - rho); w += -lr * g / (sqrt(c) + eps) */
LN_CLONES
void ln_rmsprop(size_t n, float lr, float rho, float a1, float eps,
                const float *restrict g, float *restrict c, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    float ci = rho * c[i] + a1 * (g[i] * g[i]);
    c[i] = ci;
    w[i] += nlr * g[i] / (sqrtf(ci) + eps);
  }
}

/* ---------------------------------------------------------------- Adam
** Subnormal floats make x86 cores take a microcode assist (about 150
** cycles) on every instruction that reads or writes one, and Adam makes
** them: the momentum of a weight whose gradient is always 0 (a dead ReLU)
** decays by beta_1 each step into the subnormal range and stays there
** (0.9 * the smallest subnormal rounds back to itself).  A few percent of
** such weights made the update loop six times slower.  Flushing them to zero
** would change results, so instead:
**   1. the vector loop runs on every element with the "tiny" inputs (a
**      momentum or cache below 2^-100, a gradient below 2^-56, not 0)
**      replaced by 0 and keeps the old m, v, w of those elements;
**   2. a scalar pass redoes exactly those elements, computing each float
**      operation in double (no subnormal double arises) and rounding it to
**      float in software, moving subnormals in and out as bit patterns.
** One float operation computed in double and rounded to float gives the
** correctly rounded float result (53 >= 2 * 24 + 2), so every element is
** bit-identical to the plain float loop. */

#define TINY_MV 0x0D800000u /* bits of 2^-100 */
#define TINY_G  0x23800000u /* bits of 2^-56 */
#define ADAM_CHUNK 512      /* elements per vector pass (a multiple of 8) */

/* the bits of a float */
static uint32_t fbits(const float *x) {
  uint32_t b;
  memcpy(&b, x, sizeof b);
  return b;
}

/* 1 when 0 < |x| < the float with bits t (x given by its bits b) */
static int tiny(uint32_t b, uint32_t t) {
  return (b & 0x7fffffffu) - 1u < t - 1u;
}

/* the value of a finite float, from its bits, as a double, without loading
** a subnormal float into an FP register */
static double bits2d(uint32_t b) {
  uint32_t a = b & 0x7fffffffu;
  double x;
  if (a >= 0x00800000u) {
    float f;
    memcpy(&f, &b, sizeof f);
    return (double)f;
  }
  x = (double)a * 0x1p-149;
  return b >> 31 ? -x : x;
}

/* a double rounded to the nearest float (ties to even), still as a double;
** x is a finite double result of one operation on floats.  Below 2^-126
** the float grid is the multiples of 2^-149: a * 2^149 < 2^23 is rounded to
** an integer by adding and removing 2^52 (round to nearest even) */
static double rnd(double x) {
  double a = fabs(x);
  if (a >= 0x1p-126) return (double)(float)x;
  a = (a * 0x1p149 + 0x1p52) - 0x1p52;
  return copysign(a * 0x1p-149, x);
}

/* the bits of a double that holds a float value */
static uint32_t d2bits(double x) {
  double a = fabs(x);
  uint32_t s = signbit(x) ? 0x80000000u : 0u;
  if (a < 0x1p-126) return s | (uint32_t)(a * 0x1p149);
  {
    float f = (float)x;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
  }
}

/* one Adam element exactly as the float expression in ln_adam */
static void adam_exact(float lr, float b1, float a1, float b2, float a2, float c1, float c2,
                       float eps, const float *g, float *m, float *v, float *w) {
  uint32_t gb = fbits(g), mb = fbits(m), vb = fbits(v), wb = fbits(w);
  double G, M, V, W, q;
  if (((gb >> 23) & 0xff) == 0xff || ((mb >> 23) & 0xff) == 0xff || ((vb >> 23) & 0xff) == 0xff ||
      ((wb >> 23) & 0xff) == 0xff) { /* inf or NaN: the plain float expression */
    float mi = b1 * *m + a1 * *g, vi = b2 * *v + a2 * (*g * *g);
    *m = mi;
    *v = vi;
    *w += -lr * (mi / c1) / (sqrtf(vi / c2) + eps);
    return;
  }
  G = bits2d(gb);
  M = rnd(rnd((double)b1 * bits2d(mb)) + rnd((double)a1 * G));
  V = rnd(rnd((double)b2 * bits2d(vb)) + rnd((double)a2 * rnd(G * G)));
  q = rnd(rnd(-(double)lr * rnd(M / (double)c1)) / rnd(rnd(sqrt(rnd(V / (double)c2))) + (double)eps));
  W = rnd(bits2d(wb) + q);
  mb = d2bits(M);
  vb = d2bits(V);
  wb = d2bits(W);
  memcpy(m, &mb, sizeof mb);
  memcpy(v, &vb, sizeof vb);
  memcpy(w, &wb, sizeof wb);
}

/* a float from its bits */
static float bitsf(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* the vector loop over a chunk: every element but the tiny ones, which are
** left unchanged and flagged (all bits set); returns how many were tiny.
** Selections are bit masks so no float operation sees a tiny input */
LN_CLONES
static uint32_t adam_bulk(size_t n, float lr, float b1, float a1, float b2, float a2,
                          float c1, float c2, float eps,
                          const float *restrict g, float *restrict m, float *restrict v,
                          float *restrict w, uint32_t *restrict flag) {
  size_t i;
  uint32_t ntiny = 0;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    uint32_t gb = fbits(g + i), mb = fbits(m + i), vb = fbits(v + i);
    uint32_t t = (uint32_t)(tiny(gb, TINY_G) | tiny(mb, TINY_MV) | tiny(vb, TINY_MV));
    uint32_t k = t - 1u; /* all ones to keep the new value, 0 for a tiny element */
    float gi = bitsf(gb & k), mi = b1 * bitsf(mb & k) + a1 * gi;
    float vi = b2 * bitsf(vb & k) + a2 * (gi * gi);
    float wi = w[i] + nlr * (mi / c1) / (sqrtf(vi / c2) + eps);
    m[i] = bitsf((fbits(&mi) & k) | (mb & ~k));
    v[i] = bitsf((fbits(&vi) & k) | (vb & ~k));
    w[i] = bitsf((fbits(&wi) & k) | (fbits(w + i) & ~k));
    flag[i] = t;
    ntiny += t;
  }
  return ntiny;
}

/* the usual tiny element, a dead unit's: g = 0, a tiny m, a normal v and w.
** Then v = b2 v (normal, > 0, so the root term is >= eps), m = b1 m in software, and w is unchanged when a
** bound of the step (each rounding counted as up to 2^-150 plus 2^-20
** relative; the root term >= eps) stays below a quarter of w's ulp.
** k = |lr| / (c1 eps) for that bound.  Returns 0 (nothing written) when the
** element is not such a case (the caller checked c1, c2, eps > 0) */
static int adam_dead(float b1, float b2, double k, double kabs, const float *g, float *m, float *v,
                     const float *w) {
  uint32_t gb = fbits(g), mb = fbits(m), vb = fbits(v), wb = fbits(w);
  uint32_t va = vb & 0x7fffffffu, wa = wb & 0x7fffffffu;
  double M, bound;
  float vn;
  if ((gb & 0x7fffffffu) != 0 || va < TINY_MV || va >= 0x7f800000u || wa < 0x00800000u || wa >= 0x7f800000u ||
      ((mb >> 23) & 0xff) == 0xff)
    return 0;
  M = rnd((double)b1 * bits2d(mb));
  bound = (k * (fabs(M) + 0x1p-150) + kabs) * (1.0 + 0x1p-20) + 0x1p-150;
  vn = b2 * *v;
  if (M == 0.0 || !(vn > 0.0f) || !(bound < (double)bitsf(wa) * 0x1p-26)) return 0;
  mb = d2bits(M);
  memcpy(m, &mb, sizeof mb);
  *v = vn;
  return 1;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define LN_DEAD_VEC 1
/* adam_dead for eight elements at once (positions e[0..7] of g, m, v, w)
** in AVX-512 doubles: the same tests and the same exactly rounded results,
** and no subnormal float ever enters a vector register (a subnormal
** momentum is converted from its integer mantissa; a tiny result is built
** as one).  Returns a bit mask of the elements handled; the caller runs
** adam_exact on the others */
__attribute__((target("avx512f,avx2"))) static unsigned adam_dead8(float b1, float b2, double k, double kabs,
                                                                 const uint32_t *e, const float *g, float *m,
                                                                 float *v, const float *w) {
  const __m256i idx = _mm256_loadu_si256((const __m256i *)(const void *)e);
  const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i gb = _mm256_i32gather_epi32((const int *)(const void *)g, idx, 4);
  const __m256i mb = _mm256_i32gather_epi32((const int *)(const void *)m, idx, 4);
  const __m256i vb = _mm256_i32gather_epi32((const int *)(const void *)v, idx, 4);
  const __m256i wb = _mm256_i32gather_epi32((const int *)(const void *)w, idx, 4);
  const __m256i ma = _mm256_and_si256(mb, abs), va = _mm256_and_si256(vb, abs), wa = _mm256_and_si256(wb, abs);
  const __m256i sub = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), ma); /* |m| < 2^-126 */
  const __m512d one = _mm512_set1_pd(1.0);
  __m256i ok, qi, fi;
  __m512d md, Pa, q, Ma, bound, wl;
  __m256 vn;
  __mmask8 tiny, keep;
  uint32_t mbits[8], mo, vo[8], qb[8], fb[8];
  unsigned i;
  /* g == 0; v in [2^-100, inf); w normal and finite; m finite */
  ok = _mm256_cmpeq_epi32(_mm256_and_si256(gb, abs), _mm256_setzero_si256());
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(va, _mm256_set1_epi32((int)TINY_MV - 1)));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(inf, va));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(wa, _mm256_set1_epi32(0x007fffff)));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(inf, wa));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(inf, ma));
  /* |m| as a double: normal floats converted, subnormals as mantissa * 2^-149 */
  md = _mm512_add_pd(_mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_andnot_si256(sub, ma))),
                     _mm512_mul_pd(_mm512_cvtepi32_pd(_mm256_and_si256(sub, ma)), _mm512_set1_pd(0x1p-149)));
  /* |M| = |b1 m| rounded to float (b1 >= 0): the product is exact in
  ** double; below 2^-126 it is rounded to a multiple of 2^-149 (nearest,
  ** ties to even), else converted to float */
  Pa = _mm512_mul_pd(_mm512_set1_pd((double)b1), md);
  tiny = _mm512_cmp_pd_mask(Pa, _mm512_set1_pd(0x1p-126), _CMP_LT_OQ);
  q = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_maskz_mov_pd(tiny, Pa), _mm512_set1_pd(0x1p149)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  fi = _mm256_castps_si256(_mm512_cvtpd_ps(_mm512_mask_blend_pd(tiny, Pa, one)));
  qi = _mm512_cvtpd_epi32(q);
  Ma = _mm512_mask_blend_pd(tiny, _mm512_cvtps_pd(_mm256_castsi256_ps(fi)), _mm512_mul_pd(q, _mm512_set1_pd(0x1p-149)));
  /* w stays unchanged when the bound of the step is below a quarter ulp */
  bound = _mm512_add_pd(_mm512_mul_pd(_mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(k),
                                                                  _mm512_add_pd(Ma, _mm512_set1_pd(0x1p-150))),
                                                    _mm512_set1_pd(kabs)),
                                      _mm512_set1_pd(1.0 + 0x1p-20)),
                        _mm512_set1_pd(0x1p-150));
  wl = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_and_si256(ok, wa))), _mm512_set1_pd(0x1p-26));
  vn = _mm256_mul_ps(_mm256_set1_ps(b2), _mm256_castsi256_ps(_mm256_and_si256(ok, vb)));
  keep = (__mmask8)_mm256_movemask_ps(_mm256_castsi256_ps(ok)) &
         (__mmask8)_mm256_movemask_ps(_mm256_cmp_ps(vn, _mm256_setzero_ps(), _CMP_GT_OQ)) &
         _mm512_cmp_pd_mask(Ma, _mm512_setzero_pd(), _CMP_NEQ_OQ) & _mm512_cmp_pd_mask(bound, wl, _CMP_LT_OQ);
  _mm256_storeu_si256((__m256i *)(void *)mbits, mb);
  _mm256_storeu_si256((__m256i *)(void *)qb, qi);
  _mm256_storeu_si256((__m256i *)(void *)fb, fi);
  _mm256_storeu_ps((float *)(void *)vo, vn);
  for (i = 0; i < 8; i++) {
    if (!((keep >> i) & 1u)) continue;
    mo = (mbits[i] & 0x80000000u) | (((tiny >> i) & 1u) ? qb[i] : fb[i]);
    memcpy(m + e[i], &mo, sizeof mo);
    memcpy(v + e[i], &vo[i], sizeof vo[i]);
  }
  return keep;
}

/* a / b correctly rounded (the float division's result) without a divide
** instruction, for b in [2^-32, 1] with y = RN(1/b) (a 16-lane vdivps
** occupies the divider for about 11 cycles, as long as 20 FMAs):
** q0 = RN(a y) is within 1.5 ulp of a/b; one correction
** q1 = RN(q0 - RN(b q0 - a) y) leaves an error below 1/2 ulp + 2^-22 ulp,
** so q1 is faithful; then b q1 - a is exact (one FMA) and
** q2 = RN(q1 - (b q1 - a) y) = RN(a / b) by Markstein's theorem (y within
** 1/2 ulp of 1/b, q1 faithful, no underflow: |a| >= 2^-102 or a = 0, and no
** overflow: |a| <= 2^90; Muller et al., Handbook of Floating-Point
** Arithmetic, sec. 4.9).  Written as b q - a so that a = -0 gives -0.  The
** caller checks the ranges; test/adamcheck.c compares every mantissa of a
** in three binades against the divide for 1,200 divisors */
__attribute__((target("avx512f"))) static inline __m512 div_fast(__m512 a, __m512 b, __m512 y) {
  __m512 q = _mm512_mul_ps(a, y);
  q = _mm512_fnmadd_ps(_mm512_fmsub_ps(b, q, a), y, q);
  return _mm512_fnmadd_ps(_mm512_fmsub_ps(b, q, a), y, q);
}

/* the lanes where neither x nor y (float bits with the sign cleared) is in
** (0, the float with bits t): x - 1 wraps 0 to the top */
__attribute__((target("avx512f"))) static inline __mmask16 none_below(__m512i x, __m512i y, uint32_t t) {
  const __m512i one = _mm512_set1_epi32(1);
  return _mm512_cmpge_epu32_mask(_mm512_min_epu32(_mm512_sub_epi32(x, one), _mm512_sub_epi32(y, one)),
                                 _mm512_set1_epi32((int)(t - 1u)));
}

/* one vector of adam_bulk16: the elements at i of the mask live (all ones but
** in the tail); one1: c1 is 1 (from step 165 with the default beta_1), so
** m / c1 is m exactly and only v is divided */
__attribute__((target("avx512f,avx512dq"), always_inline)) static inline __mmask16
adam16(__mmask16 live, const __m512 *K, const float *restrict g, float *restrict m, float *restrict v,
       float *restrict w, const int one1) {
  const __m512i abs = _mm512_set1_epi32(0x7fffffff);
  const __m512 gl = _mm512_maskz_loadu_ps(live, g), ml = _mm512_maskz_loadu_ps(live, m);
  const __m512 vl = _mm512_maskz_loadu_ps(live, v);
  /* left to the exact pass: a subnormal gradient (vfpclassps), a momentum or
  ** cache in (0, 2^-100) (then -lr m / c1 could be subnormal: two assists) */
  const __mmask16 t = (__mmask16)((_mm512_fpclass_ps_mask(gl, 0x20) |
                                   (__mmask16)~none_below(_mm512_and_si512(_mm512_castps_si512(ml), abs),
                                                          _mm512_and_si512(_mm512_castps_si512(vl), abs),
                                                          TINY_MV)) & live);
  const __mmask16 k = (__mmask16)(live & ~t);
  /* their lanes are zeroed by the first operation (a masked-off lane costs no assist) */
  const __m512 mi = _mm512_add_ps(_mm512_maskz_mul_ps(k, K[0], ml), _mm512_maskz_mul_ps(k, K[1], gl));
  const __m512 vi = _mm512_add_ps(_mm512_maskz_mul_ps(k, K[2], vl),
                                  _mm512_mul_ps(K[3], _mm512_maskz_mul_ps(k, gl, gl)));
  /* |m1| and v1 below 2^90 (their bits' or), for div_fast; with one1 only
  ** v1 is divided, so only its range counts (ma stands for it) */
  const __m512i vbits = _mm512_castps_si512(vi);
  const __m512i ma = one1 ? vbits : _mm512_and_si512(_mm512_castps_si512(mi), abs);
  const __mmask16 top = _mm512_cmplt_epu32_mask(one1 ? vbits : _mm512_or_si512(ma, vbits),
                                                _mm512_set1_epi32(0x6C800000));
  __m512 mh, vh, den, wi;
  if ((top & none_below(ma, vbits, 0x18800000u)) == 0xffff) { /* each 0 or >= 2^-78 */
    mh = one1 ? mi : div_fast(mi, K[4], K[6]);
    vh = div_fast(vi, K[5], K[7]);
  } else if ((top & none_below(ma, vbits, 0x01000000u)) == 0xffff) {
    /* some in [2^-125, 2^-78) (a decaying momentum): those scaled by 2^64
    ** first and the quotient by 2^-64 after, both exact (a / b >= a >= 2^-125
    ** stays normal) */
    const __m512 up = _mm512_set1_ps(0x1p64f), down = _mm512_set1_ps(0x1p-64f);
    const __m512i small = _mm512_set1_epi32(0x18800000); /* 2^-78 */
    const __mmask16 sm = _mm512_cmplt_epu32_mask(ma, small), sv = _mm512_cmplt_epu32_mask(vbits, small);
    vh = div_fast(_mm512_mask_mul_ps(vi, sv, vi, up), K[5], K[7]);
    vh = _mm512_mask_mul_ps(vh, sv, vh, down);
    if (one1) mh = mi;
    else {
      mh = div_fast(_mm512_mask_mul_ps(mi, sm, mi, up), K[4], K[6]);
      mh = _mm512_mask_mul_ps(mh, sm, mh, down);
    }
  } else {
    mh = one1 ? mi : _mm512_div_ps(mi, K[4]);
    vh = _mm512_div_ps(vi, K[5]);
  }
  den = _mm512_add_ps(_mm512_sqrt_ps(vh), K[8]);
  wi = _mm512_add_ps(_mm512_maskz_loadu_ps(live, w), _mm512_div_ps(_mm512_mul_ps(K[9], mh), den));
  _mm512_mask_storeu_ps(m, k, mi); /* tiny elements keep their values */
  _mm512_mask_storeu_ps(v, k, vi);
  _mm512_mask_storeu_ps(w, k, wi);
  return t;
}

/* append the positions i0 + (the lanes of t) to at[nat..]; returns the new
** count.  Out of line and cold so that the rare case stays a branch (inlined,
** GCC made the compress unconditional; no faster, only harder to read) */
__attribute__((target("avx512f"), noinline, cold)) static size_t tiny_at(__mmask16 t, uint32_t i0, uint32_t *at,
                                                                       size_t nat) {
  const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)i0),
                                       _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  _mm512_mask_compressstoreu_epi32((void *)(at + nat), t, idx);
  return nat + (size_t)__builtin_popcount(t);
}

/* adam_bulk for AVX-512 with the divisions by c1 and c2 (in [2^-32, 1])
** done by div_fast: the same results bit for bit.  Left to the exact pass:
** the momentums and caches adam_bulk leaves, but of the gradients only
** subnormal ones (a gradient in [2^-126, 2^-56) costs an assist in g^2,
** and did not occur once in 3 epochs of the book's run).  A vector whose m1
** or v1 has an element in (0, 2^-78) (a decaying momentum: the remainder
** b q - a could be subnormal, an assist) scales those by 2^64 around
** div_fast; one with an element outside [2^-125, 2^90] divides.  Products
** and sums stay separate instructions as in the float expression (no
** contraction of b1 m + a1 g).  Once c1 rounds to 1 (step 165 on with the
** default beta_1) m / c1 is m itself, so only v is divided and only its
** range is checked (ln_adam on the book's W1 after two epochs: 28.3 -> 23.5
** us for 50,176 elements).  Appends the positions i0 + i of the elements
** left (unchanged) to at[nat..]; returns the new count */
__attribute__((target("avx512f,avx512dq"))) static size_t
adam_bulk16(size_t n, float lr, float b1, float a1, float b2, float a2, float c1, float c2, float eps,
            const float *restrict g, float *restrict m, float *restrict v, float *restrict w, uint32_t i0,
            uint32_t *restrict at, size_t nat) {
  const __m512 K[10] = { _mm512_set1_ps(b1), _mm512_set1_ps(a1), _mm512_set1_ps(b2), _mm512_set1_ps(a2),
                         _mm512_set1_ps(c1), _mm512_set1_ps(c2), _mm512_set1_ps(1.0f / c1),
                         _mm512_set1_ps(1.0f / c2), _mm512_set1_ps(eps), _mm512_set1_ps(-lr) };
  size_t i;
#define ADAM16_LOOP(one1)                                                                                   \
  for (i = 0; i < n; i += 16) {                                                                             \
    const __mmask16 t = n - i >= 16 ? adam16((__mmask16)0xffff, K, g + i, m + i, v + i, w + i, one1)       \
                                    : adam16((__mmask16)((1u << (n - i)) - 1u), K, g + i, m + i, v + i,     \
                                             w + i, one1);                                                  \
    if (t) nat = tiny_at(t, (uint32_t)(i0 + i), at, nat);                                                   \
  }
  if (c1 == 1.0f) ADAM16_LOOP(1)
  else ADAM16_LOOP(0)
#undef ADAM16_LOOP
  return nat;
}

/* append to at[nat..] the positions i0 + j of the flagged elements of a
** chunk (flags zero from len up to a multiple of 16); returns the new count */
__attribute__((target("avx512f"))) static size_t adam_collect(size_t len, const uint32_t *flag, size_t i0,
                                                            uint32_t *at, size_t nat) {
  __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)i0),
                                 _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  const __m512i sixteen = _mm512_set1_epi32(16);
  size_t j;
  for (j = 0; j < len; j += 16) {
    __m512i f = _mm512_loadu_si512((const void *)(flag + j));
    __mmask16 k = _mm512_test_epi32_mask(f, f);
    if (k) {
      _mm512_mask_compressstoreu_epi32((void *)(at + nat), k, idx);
      nat += (size_t)__builtin_popcount(k);
    }
    idx = _mm512_add_epi32(idx, sixteen);
  }
  return nat;
}
#endif

/* m = b1 m + a1 g; v = b2 v + a2 g^2;
** w += -lr * (m / c1) / (sqrt(v / c2) + eps)
** in chunks: the vector loop, then the flagged elements exactly */
void ln_adam(size_t n, float lr, float b1, float a1, float b2, float a2,
             float c1, float c2, float eps,
             const float *restrict g, float *restrict m, float *restrict v,
             float *restrict w) {
  uint32_t flag[ADAM_CHUNK];
  size_t i0, j, k;
  /* the dead-unit bound: |step| <= (|lr| (|m/c1| + 2^-150) + 2^-150) / eps */
  int dead = c1 > 0.0f && c2 > 0.0f && eps > 0.0f && isfinite(lr) && isfinite(c1);
  double kd = dead ? fabs((double)lr) / ((double)c1 * (double)eps) : 0.0;
  double kabs = dead ? (fabs((double)lr) + 1.0) * 0x1p-150 / (double)eps : 0.0;
#ifdef LN_DEAD_VEC
  static int has = -1;
  int vec = __atomic_load_n(&has, __ATOMIC_RELAXED);
  if (vec < 0) { /* the same value from any thread */
    __builtin_cpu_init();
    vec = ln_cpu_level() >= 2 && __builtin_cpu_supports("avx2");
    vec += vec && __builtin_cpu_supports("avx512dq"); /* 2: adam_bulk16 too */
    __atomic_store_n(&has, vec, __ATOMIC_RELAXED);
  }
  /* the flagged positions, gathered across chunks (int32 indices) */
  uint32_t at[ADAM_CHUNK + 8];
  size_t nat = 0, a;
  vec = dead && n <= 0x7fffffffu ? vec : 0;
  /* the divisions by c1 and c2 without a divide instruction (div_fast) */
  int fast = vec == 2 && c1 >= 0x1p-32f && c1 <= 1.0f && c2 >= 0x1p-32f && c2 <= 1.0f;
#endif
  for (i0 = 0; i0 < n; i0 += ADAM_CHUNK) {
    size_t len = n - i0 < ADAM_CHUNK ? n - i0 : ADAM_CHUNK;
#ifdef LN_DEAD_VEC
    if (vec) { /* flagged elements eight at a time; fewer wait for the next chunk's */
      if (fast) /* the tiny elements' positions straight into at */
        nat = adam_bulk16(len, lr, b1, a1, b2, a2, c1, c2, eps, g + i0, m + i0, v + i0, w + i0, (uint32_t)i0, at,
                          nat);
      else if (adam_bulk(len, lr, b1, a1, b2, a2, c1, c2, eps, g + i0, m + i0, v + i0, w + i0, flag) != 0) {
        for (j = len; j < ADAM_CHUNK; j++) flag[j] = 0;
        nat = adam_collect(len, flag, i0, at, nat);
      }
      for (a = 0; a + 8 <= nat; a += 8) {
        unsigned done = adam_dead8(b1, b2, kd, kabs, at + a, g, m, v, w);
        for (k = 0; k < 8; k++)
          if (!((done >> k) & 1u)) adam_exact(lr, b1, a1, b2, a2, c1, c2, eps, g + at[a + k], m + at[a + k],
                                              v + at[a + k], w + at[a + k]);
      }
      memmove(at, at + a, (nat - a) * sizeof *at);
      nat -= a;
      continue;
    }
#endif
    if (adam_bulk(len, lr, b1, a1, b2, a2, c1, c2, eps, g + i0, m + i0, v + i0, w + i0, flag) == 0) continue;
    for (j = len; j < ADAM_CHUNK; j++) flag[j] = 0;
    for (j = 0; j < len; j += 8) { /* eight flags at a time */
      if ((flag[j] | flag[j + 1] | flag[j + 2] | flag[j + 3] | flag[j + 4] | flag[j + 5] | flag[j + 6] |
           flag[j + 7]) == 0) continue;
      for (k = j; k < j + 8; k++) {
        size_t e = i0 + k;
        if (flag[k] && !(dead && adam_dead(b1, b2, kd, kabs, g + e, m + e, v + e, w + e)))
          adam_exact(lr, b1, a1, b2, a2, c1, c2, eps, g + e, m + e, v + e, w + e);
      }
    }
  }
#ifdef LN_DEAD_VEC
  for (a = 0; a < nat; a++) { /* the last few flagged elements */
    size_t e = at[a];
    if (!adam_dead(b1, b2, kd, kabs, g + e, m + e, v + e, w + e))
      adam_exact(lr, b1, a1, b2, a2, c1, c2, eps, g + e, m + e, v + e, w + e);
  }
#endif
}

void ln_update_run(const ln_Update *u, size_t lo, size_t hi) {
  size_t n = hi - lo;
  const float *g = u->g + lo;
  float *w = u->w + lo;
  if (hi <= lo) return;
  if (u->plain) { ln_sgd(n, u->lr, g, w); return; }
  switch (u->kind) {
    case LN_SGD: ln_sgd_momentum(n, u->lr, u->mu, g, u->s1 + lo, w); break;
    case LN_ADAGRAD: ln_adagrad(n, u->lr, u->eps, g, u->s1 + lo, w); break;
    case LN_RMSPROP: ln_rmsprop(n, u->lr, u->rho, u->a1, u->eps, g, u->s1 + lo, w); break;
    case LN_ADAM:
      ln_adam(n, u->lr, u->b1, u->a1, u->b2, u->a2, u->c1, u->c2, u->eps, g, u->s1 + lo, u->s2 + lo, w);
      break;
  }
}
