/*
** gemm.c: row-major single-precision matrix product.
** With LUNET_USE_CBLAS the work goes to cblas_sgemm (OpenBLAS on Debian);
** ln_gemm_ref is the portable fallback used by `make BLAS=none`.
*/
/* GCC's -O2 vectorises only loops whose trip count fits the vector width;
** these flat loops need -O3's vectoriser, and sqrtf needs no-math-errno to
** vectorise (values are unchanged: no fast-math, sums keep their order) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "vect-cost-model=dynamic")
#endif
#include <string.h>
#include "kernels.h"

#ifdef LUNET_USE_CBLAS
#include <cblas.h>
#define CBLAS_KB 128 /* k values per cblas_sgemm call (see ln_gemm) */
#endif

/* on x86-64 with GCC, full tiles go to a wider micro-kernel compiled for
** AVX-512 (8 x 32) or AVX2 (6 x 16) when the CPU has it (checked at run
** time; the default build keeps no -march).  Every kernel sums each element
** of C over the same k block in the same order with separate multiplies and
** adds (-std=c99 keeps contraction off), so results are identical whichever
** runs */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LN_WIDE 1
#endif
/* the AVX-512 path below builds with GCC and clang (so the sanitizer
** builds, which use clang, run it too) */
#if defined(__GNUC__) && defined(__x86_64__)
#define LN_FAST 1
#endif

/* block sizes of the fallback: a KB x NB panel of op(B) is packed so the
** micro-kernel reads contiguous rows; MR x NR tiles of C are accumulated in
** registers over the panel (fixed-size loops that GCC vectorises) */
#define NB 256
#define KB 256
#define MR 4
#define NR 16

/* C tile (MR x NR) += alpha * sum_k a(r, k) * P[k][j]; a(r, k) = a[r * ar + k * ak];
** one accumulator row per row of A so the j loops vectorise */
static void tile(size_t kb, const float *a, size_t ar, size_t ak, const float *P, size_t ldp,
                 float alpha, float *C, size_t ldc) {
  float c0[NR], c1[NR], c2[NR], c3[NR];
  size_t j, k;
  for (j = 0; j < NR; j++) c0[j] = c1[j] = c2[j] = c3[j] = 0.0f;
  for (k = 0; k < kb; k++) {
    const float *p = P + k * ldp, *x = a + k * ak;
    float x0 = x[0], x1 = x[ar], x2 = x[2 * ar], x3 = x[3 * ar];
    for (j = 0; j < NR; j++) {
      c0[j] += x0 * p[j];
      c1[j] += x1 * p[j];
      c2[j] += x2 * p[j];
      c3[j] += x3 * p[j];
    }
  }
  for (j = 0; j < NR; j++) {
    C[j] += alpha * c0[j];
    C[ldc + j] += alpha * c1[j];
    C[2 * ldc + j] += alpha * c2[j];
    C[3 * ldc + j] += alpha * c3[j];
  }
}

#ifdef LN_WIDE
/* C tile (R x 2V) += alpha * sum_k a(r, k) * P[k][j], the wide kernels:
** GCC vector types of V floats, two per row of the tile held in registers */
#define WIDE_TILE(name, R, V, isa)                                                               \
  typedef float name##_v __attribute__((vector_size(V * sizeof(float))));                      \
  __attribute__((target(isa))) static void name(size_t kb, const float *a, size_t ar, size_t ak, \
                                                const float *P, size_t ldp, float alpha, float *C, size_t ldc) { \
    name##_v c[R][2], p0, p1;                                                                  \
    float t[2 * V];                                                                            \
    size_t j, k, r;                                                                            \
    memset(&p0, 0, sizeof p0);                                                                 \
    for (r = 0; r < R; r++) c[r][0] = c[r][1] = p0;                                            \
    for (k = 0; k < kb; k++) {                                                                 \
      const float *x = a + k * ak;                                                             \
      memcpy(&p0, P + k * ldp, sizeof p0);                                                     \
      memcpy(&p1, P + k * ldp + V, sizeof p1);                                                 \
      for (r = 0; r < R; r++) {                                                                \
        float xr = x[r * ar];                                                                  \
        c[r][0] += xr * p0;                                                                    \
        c[r][1] += xr * p1;                                                                    \
      }                                                                                        \
    }                                                                                          \
    for (r = 0; r < R; r++) {                                                                  \
      memcpy(t, &c[r][0], sizeof c[r][0]);                                                     \
      memcpy(t + V, &c[r][1], sizeof c[r][1]);                                                 \
      for (j = 0; j < 2 * V; j++) C[r * ldc + j] += alpha * t[j];                              \
    }                                                                                          \
  }
WIDE_TILE(tile_avx512, 8, 16, "avx512f")
WIDE_TILE(tile_avx2, 6, 8, "avx2")
#endif

/* the same for a partial tile of m x n (m <= MR, n <= NR) */
static void edge(size_t m, size_t n, size_t kb, const float *a, size_t ar, size_t ak,
                 const float *P, size_t ldp, float alpha, float *C, size_t ldc) {
  size_t r, j, k;
  for (r = 0; r < m; r++)
    for (j = 0; j < n; j++) {
      float s = 0.0f;
      for (k = 0; k < kb; k++) s += a[r * ar + k * ak] * P[k * ldp + j];
      C[r * ldc + j] += alpha * s;
    }
}

#ifdef LN_WIDE
/* columns j1..j2 of the panel P (row length ldp) for rows i0..i0+rows of C,
** with the MR x NR tiles and the edge kernel */
static void narrow_cols(size_t rows, size_t i0, size_t j1, size_t j2, size_t kb, const float *a, size_t ar,
                        size_t ak, const float *P, size_t ldp, float alpha, float *C, size_t ldc) {
  size_t r, j;
  for (r = 0; r < rows; r += MR) {
    size_t mr = rows - r < MR ? rows - r : MR;
    for (j = j1; j < j2; j += NR) {
      size_t nr = j2 - j < NR ? j2 - j : NR;
      float *c = C + (i0 + r) * ldc + j;
      if (mr == MR && nr == NR) tile(kb, a + r * ar, ar, ak, P + j, ldp, alpha, c, ldc);
      else edge(mr, nr, kb, a + r * ar, ar, ak, P + j, ldp, alpha, c, ldc);
    }
  }
}
#endif

#ifdef LN_FAST
/* ------------------------------------------------------ AVX-512 path
** On CPUs with AVX-512 every product with at least FAST_MINN columns goes
** here, in both builds, and so do the narrower ones but those with A
** transposed (OpenBLAS' small-matrix kernels win there): for the shapes of a
** training step it beats OpenBLAS 0.3.21's single-thread SkylakeX kernels
** (bench/gemm_floor.c: 0.129 -> 0.115 s per epoch of half-batch products;
** the last layer's forward, 64 x 10 from 128 inputs, 2.09 -> 1.76 us).  A
** panel of FKB rows x 64 columns of op(B) is packed (32 KB, stays in L1) and
** tiles of 6 rows x 64 columns of C are accumulated in 24 registers with fused
** multiply-adds, the 6 values of op(A) broadcast from memory; partial
** panels use masked loads and stores, so no column edge code.  Sums run
** over k in order within each FKB block, so results do not depend on M's
** split between threads (the rows of C are independent). */
#include <immintrin.h>
#define FKB 128
#define FR 6         /* rows of a wide tile (6 x 64: 24 accumulators) */
#define FRN 14       /* rows of a narrow tile (14 x 16) */
#define FAST_MINN 32

/* loops over a tile's rows and vectors: unrolled, so its sums stay in registers */
#define UNROLL _Pragma("GCC unroll 16")
#define FAST_ATTR __attribute__((target("avx512f"), always_inline)) static inline
/* C tile (R x 16 NV) = or += alpha * sum_k a(r, k) P[k][0 .. 16 NV), where
** a(r, k) = ap[r][k * ak], or with KP (a pointer per k) ap[k][ak + r] */
FAST_ATTR void fast_tile(const int R, const int NV, const int KP, size_t kb, const float *const *ap, size_t ak,
                         const float *P, float alpha, float *C, size_t ldc, const __mmask16 *mk, int over) {
  __m512 c[FRN][4], b[4];
  int r, v;
  size_t k;
  UNROLL for (r = 0; r < R; r++)
    UNROLL for (v = 0; v < NV; v++) c[r][v] = _mm512_setzero_ps();
  for (k = 0; k < kb; k++) {
    UNROLL for (v = 0; v < NV; v++) b[v] = _mm512_load_ps(P + k * 16 * (size_t)NV + 16 * v);
    UNROLL for (r = 0; r < R; r++) {
      __m512 xr = _mm512_set1_ps(KP ? ap[k][ak + (size_t)r] : ap[r][k * ak]);
      UNROLL for (v = 0; v < NV; v++) c[r][v] = _mm512_fmadd_ps(xr, b[v], c[r][v]);
    }
  }
  /* (a store under an empty mask does nothing; no branch, so that the
  ** loops unroll and the sums stay in registers) */
  if (over)
    UNROLL for (r = 0; r < R; r++)
      UNROLL for (v = 0; v < NV; v++)
        _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16 * v, mk[v], _mm512_mul_ps(_mm512_set1_ps(alpha), c[r][v]));
  else
    UNROLL for (r = 0; r < R; r++)
      UNROLL for (v = 0; v < NV; v++) {
        float *cp = C + (size_t)r * ldc + 16 * v;
        _mm512_mask_storeu_ps(cp, mk[v],
                              _mm512_fmadd_ps(_mm512_set1_ps(alpha), c[r][v], _mm512_maskz_loadu_ps(mk[v], cp)));
      }
}

typedef void (*fast_fn)(size_t, const float *const *, size_t, const float *, float, float *, size_t,
                        const __mmask16 *, int);
#define FAST_TILE_KP(R, NV, KP, name)                                                                  \
  __attribute__((target("avx512f"))) static void name(size_t kb, const float *const *ap, size_t ak,    \
      const float *P, float alpha, float *C, size_t ldc, const __mmask16 *mk, int over) {              \
    fast_tile(R, NV, KP, kb, ap, ak, P, alpha, C, ldc, mk, over);                                      \
  }
#define FAST_TILE(R, NV) FAST_TILE_KP(R, NV, 0, fast_tile##R##_##NV)
FAST_TILE_KP(1, 4, 1, fast_kp1) FAST_TILE_KP(2, 4, 1, fast_kp2) FAST_TILE_KP(3, 4, 1, fast_kp3)
FAST_TILE_KP(4, 4, 1, fast_kp4) FAST_TILE_KP(5, 4, 1, fast_kp5) FAST_TILE_KP(6, 4, 1, fast_kp6)
FAST_TILE(1, 4) FAST_TILE(2, 4) FAST_TILE(3, 4) FAST_TILE(4, 4) FAST_TILE(5, 4) FAST_TILE(6, 4)
FAST_TILE(1, 1) FAST_TILE(2, 1) FAST_TILE(3, 1) FAST_TILE(4, 1) FAST_TILE(5, 1) FAST_TILE(6, 1)
FAST_TILE(7, 1) FAST_TILE(8, 1) FAST_TILE(9, 1) FAST_TILE(10, 1) FAST_TILE(11, 1) FAST_TILE(12, 1)
FAST_TILE(13, 1) FAST_TILE(14, 1)
/* wide tiles (64 columns, up to FR rows) and narrow ones (16 columns, up
** to FRN rows, for products with fewer than FAST_MINN columns) */
static const fast_fn fast_wide[FR + 1] = { NULL, fast_tile1_4, fast_tile2_4, fast_tile3_4, fast_tile4_4,
                                           fast_tile5_4, fast_tile6_4 };
static const fast_fn fast_wide_kp[FR + 1] = { NULL, fast_kp1, fast_kp2, fast_kp3, fast_kp4, fast_kp5, fast_kp6 };
static const fast_fn fast_narrow[FRN + 1] = { NULL, fast_tile1_1, fast_tile2_1, fast_tile3_1, fast_tile4_1,
                                              fast_tile5_1, fast_tile6_1, fast_tile7_1, fast_tile8_1,
                                              fast_tile9_1, fast_tile10_1, fast_tile11_1, fast_tile12_1,
                                              fast_tile13_1, fast_tile14_1 };

/* T[c][i] = rows[i][c] for i < 16 (rows i >= nr read as zeros), c < 16 under
** the mask m (T's rows 16 floats apart by ldt): a 16 x 16 block transposed
** in registers, four rounds of shuffles */
__attribute__((target("avx512f"))) static void tr16(const float *const *rows, int nr, __mmask16 m, float *T,
                                                  size_t ldt) {
  __m512 r[16], t[16];
  int i;
  UNROLL for (i = 0; i < 16; i++) r[i] = i < nr ? _mm512_maskz_loadu_ps(m, rows[i]) : _mm512_setzero_ps();
  UNROLL for (i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  UNROLL for (i = 0; i < 16; i += 4) {
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  UNROLL for (i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  UNROLL for (i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
  UNROLL for (i = 0; i < 16; i++)
    if (m >> i & 1) _mm512_store_ps(T + (size_t)i * ldt, r[i]);
}

/* P[k][0 .. w) = op(b)[k][0 .. w) under the column masks, zero-padded:
** rows of b (ldb apart), or with trans its columns, transposed 16 x 16 at a
** time (vector moves: memcpy of 256 bytes became a slow `rep movsq`; the
** transposes take 0.74 of the time of 16-lane gathers) */
__attribute__((target("avx512f"))) static void fast_pack(size_t kb, size_t w, const float *b, size_t ldb,
                                                        int trans, const __mmask16 *mk, float *P) {
  size_t k, v;
  if (!trans) {
    for (k = 0; k < kb; k++)
      for (v = 0; v < w / 16; v++)
        _mm512_store_ps(P + k * w + 16 * v, _mm512_maskz_loadu_ps(mk[v], b + k * ldb + 16 * v));
  } else {
    const float *rows[16];
    int i;
    for (v = 0; v < w / 16; v++) {
      const int nr = __builtin_popcount(mk[v]); /* the masks are prefixes */
      for (k = 0; k < kb; k += 16) {
        for (i = 0; i < nr; i++) rows[i] = b + (16 * v + (size_t)i) * ldb + k;
        tr16(rows, nr, kb - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (kb - k)) - 1u), P + k * w + 16 * v, w);
      }
    }
  }
}

/* prefetch rows idx[i0 .. i0 + R) of A (M x K), columns k0 .. k0 + FKB:
** they come from memory (a random batch of a data set) */
static void fetch_next(const float *A, size_t lda, const size_t *idx, size_t M, size_t K, size_t i0, size_t k0,
                       size_t R) {
  size_t i, k, k1 = K - k0 < FKB ? K : k0 + FKB;
  for (i = i0; i < i0 + R && i < M && k0 < K; i++)
    for (k = k0; k < k1 + 15; k += 16) /* every line, the last one too */
      _mm_prefetch((const char *)(A + idx[i] * lda + (k < k1 ? k : k1 - 1)), _MM_HINT_T0);
}

/* does this CPU have AVX-512F? */
static int fast_cpu(void) {
  return ln_cpu_level() >= 2;
}

/* the AVX-512 product; returns 0 (nothing done) when the CPU lacks
** AVX-512F or the shape is not one it wins on.  With idx, row i of A is
** at A + idx[i] * lda (then only wide tiles: N >= FAST_MINN) */
static int gemm_fast(int transA, int transB, size_t M, size_t N, size_t K, float alpha, const float *A,
                     size_t lda, const size_t *idx, const float *B, size_t ldb, float beta, float *C, size_t ldc,
                     int narrow_ok) {
  float P[FKB * 64] __attribute__((aligned(64)));
  size_t ar = transA ? 1 : lda, ak = transA ? lda : 1, k0, j0, i0, i, j;
  const float *ap[FRN], *kp[FKB]; /* A's rows in a tile, or with idx and transA in a k block */
  size_t W, R;
  const fast_fn *tiles;
  if (!fast_cpu() || K == 0 || (N < FAST_MINN && !narrow_ok)) return 0;
  if (N < FAST_MINN) { W = 16; R = FRN; tiles = fast_narrow; }
  else { W = 64; R = FR; tiles = fast_wide; }
  if (beta != 0.0f && beta != 1.0f)
    for (i = 0; i < M; i++)
      for (j = 0; j < N; j++) C[i * ldc + j] *= beta;
  for (j0 = 0; j0 < N; j0 += W) {
    size_t jw = N - j0 < W ? N - j0 : W;
    __mmask16 mk[4];
    int v;
    for (v = 0; v < 4; v++) {
      size_t lo = 16 * (size_t)v;
      mk[v] = jw >= lo + 16 ? (__mmask16)0xffff : jw <= lo ? (__mmask16)0 : (__mmask16)((1u << (jw - lo)) - 1u);
    }
    for (k0 = 0; k0 < K; k0 += FKB) {
      size_t kb = K - k0 < FKB ? K - k0 : FKB;
      int over = beta == 0.0f && k0 == 0;
      fast_pack(kb, W, transB ? B + j0 * ldb + k0 : B + k0 * ldb + j0, ldb, transB, mk, P);
      if (idx && transA)
        for (i = 0; i < kb; i++) kp[i] = A + idx[k0 + i] * lda;
      for (i0 = 0; i0 < M; i0 += R) {
        size_t mr = M - i0 < R ? M - i0 : R, r;
        if (idx && transA) {
          fast_wide_kp[mr](kb, kp, i0, P, alpha, C + i0 * ldc + j0, ldc, mk, over);
          continue;
        }
        for (r = 0; r < mr; r++)
          ap[r] = transA ? A + k0 * lda + i0 + r : A + (idx ? idx[i0 + r] : i0 + r) * ar + k0;
        if (idx && j0 == 0) /* first pass over scattered rows: fetch the next tile's */
          fetch_next(A, lda, idx, M, K, i0 + R < M ? i0 + R : 0, i0 + R < M ? k0 : k0 + FKB, R);
        tiles[mr](kb, ap, ak, P, alpha, C + i0 * ldc + j0, ldc, mk, over);
      }
    }
  }
  return 1;
}
#endif

void ln_gemm_ref(int transA, int transB, size_t M, size_t N, size_t K,
                 float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb,
                 float beta, float *C, size_t ldc) {
  float P[KB * NB];
  size_t i, j, k0, j0, i0;
#ifdef LN_WIDE
  void (*wide)(size_t, const float *, size_t, size_t, const float *, size_t, float, float *, size_t) = NULL;
  size_t wide_r = 0, wide_w = 0;
  if (ln_cpu_level() >= 2) { wide = tile_avx512; wide_r = 8; wide_w = 32; }
  else if (ln_cpu_level() >= 1) { wide = tile_avx2; wide_r = 6; wide_w = 16; }
#endif
  /* scale C by beta first (beta == 0 overwrites, so NaN in C never leaks) */
  for (i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f) memset(c, 0, N * sizeof(float));
    else if (beta != 1.0f) for (j = 0; j < N; j++) c[j] *= beta;
  }
  if (K == 0 || alpha == 0.0f) return;
  for (j0 = 0; j0 < N; j0 += NB) {
    size_t nb = N - j0 < NB ? N - j0 : NB;
    for (k0 = 0; k0 < K; k0 += KB) {
      size_t kb = K - k0 < KB ? K - k0 : KB, k;
      size_t ar = transA ? 1 : lda, ak = transA ? lda : 1;
      /* pack op(B)[k0..k0+kb][j0..j0+nb] */
      for (k = 0; k < kb; k++) {
        float *p = P + k * nb;
        if (transB) for (j = 0; j < nb; j++) p[j] = B[(j0 + j) * ldb + k0 + k];
        else memcpy(p, B + (k0 + k) * ldb + j0, nb * sizeof(float));
      }
      i0 = 0;
#ifdef LN_WIDE
      if (wide_r) { /* full wide tiles first; the rest below with MR x NR */
        size_t wj = nb - nb % wide_w;
        for (; i0 + wide_r <= M; i0 += wide_r) {
          const float *a = transA ? A + k0 * lda + i0 : A + i0 * lda + k0;
          for (j = 0; j < wj; j += wide_w)
            wide(kb, a, ar, ak, P + j, nb, alpha, C + i0 * ldc + j0 + j, ldc);
          if (wj < nb) narrow_cols(wide_r, i0, wj, nb, kb, a, ar, ak, P, nb, alpha, C + j0, ldc);
        }
      }
#endif
      for (; i0 < M; i0 += MR) {
        size_t mr = M - i0 < MR ? M - i0 : MR;
        const float *a = transA ? A + k0 * lda + i0 : A + i0 * lda + k0;
        for (j = 0; j < nb; j += NR) {
          size_t nr = nb - j < NR ? nb - j : NR;
          float *c = C + i0 * ldc + j0 + j;
          if (mr == MR && nr == NR) tile(kb, a, ar, ak, P + j, nb, alpha, c, ldc);
          else edge(mr, nr, kb, a, ar, ak, P + j, nb, alpha, c, ldc);
        }
      }
    }
  }
}

#ifdef LUNET_USE_CBLAS
void ln_gemm(int transA, int transB, size_t M, size_t N, size_t K,
             float alpha, const float *A, size_t lda,
             const float *B, size_t ldb,
             float beta, float *C, size_t ldc) {
  size_t k0, m0;
  if (M == 0 || N == 0) return;
#ifdef LN_FAST
  if (gemm_fast(transA, transB, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc, !transA)) return;
#endif
  if (K == 0) { /* BLAS may not touch C when K == 0; keep the semantics */
    ln_gemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  /* OpenBLAS picks its algorithm by the sizes (0.3.21: a small-matrix
  ** kernel below M N K = 10^6 that sums all of K in registers; the blocked
  ** kernels add partial sums over K blocks whose size depends on K and on
  ** the thread count), so C's rows computed in two calls could differ in the
  ** last bit from one call.  Calls of at most CBLAS_KB values of k are one
  ** block in every path, each element summed in order, so the sums do not
  ** depend on how the caller splits M or N between threads, nor on
  ** OpenBLAS' own threads: results equal for every thread count */
  for (m0 = 0; m0 < M; m0 += LN_GEMM_MB) {
    size_t mb = M - m0 < LN_GEMM_MB ? M - m0 : LN_GEMM_MB;
    const float *a = transA ? A + m0 : A + m0 * lda;
    for (k0 = 0; k0 < K; k0 += CBLAS_KB) {
      size_t kb = K - k0 < CBLAS_KB ? K - k0 : CBLAS_KB;
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                  transB ? CblasTrans : CblasNoTrans, (int)mb, (int)N, (int)kb,
                  alpha, transA ? a + k0 * lda : a + k0, (int)lda, transB ? B + k0 : B + k0 * ldb, (int)ldb,
                  k0 == 0 ? beta : 1.0f, C + m0 * ldc, (int)ldc);
    }
  }
}
const char *ln_gemm_backend(void) { return "OpenBLAS"; }
int ln_gemm_threads(void) { return openblas_get_num_threads(); }
void ln_gemm_set_threads(int n) { openblas_set_num_threads(n); }
#else
void ln_gemm(int transA, int transB, size_t M, size_t N, size_t K,
             float alpha, const float *A, size_t lda,
             const float *B, size_t ldb,
             float beta, float *C, size_t ldc) {
#ifdef LN_FAST
  if (M > 0 && gemm_fast(transA, transB, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc, 1)) return;
#endif
  ln_gemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
const char *ln_gemm_backend(void) { return "portable C"; }
int ln_gemm_threads(void) { return 1; }
void ln_gemm_set_threads(int n) { (void)n; }
#endif

int ln_gemm_rows_ok(size_t N) {
#ifdef LN_FAST
  return N >= FAST_MINN && fast_cpu();
#else
  (void)N;
  return 0;
#endif
}

int ln_gemm_rows(int transA, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                 const size_t *idx, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
#ifdef LN_FAST
  return M > 0 && N >= FAST_MINN && gemm_fast(transA, 0, M, N, K, alpha, A, lda, idx, B, ldb, beta, C, ldc, 0);
#else
  (void)transA; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)idx; (void)B; (void)ldb; (void)beta;
  (void)C; (void)ldc;
  return 0;
#endif
}
