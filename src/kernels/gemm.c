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

void ln_gemm_ref(int transA, int transB, size_t M, size_t N, size_t K,
                 float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb,
                 float beta, float *C, size_t ldc) {
  float P[KB * NB];
  size_t i, j, k0, j0, i0;
#ifdef LN_WIDE
  void (*wide)(size_t, const float *, size_t, size_t, const float *, size_t, float, float *, size_t) = NULL;
  size_t wide_r = 0, wide_w = 0;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) { wide = tile_avx512; wide_r = 8; wide_w = 32; }
  else if (__builtin_cpu_supports("avx2")) { wide = tile_avx2; wide_r = 6; wide_w = 16; }
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
  if (M == 0 || N == 0) return;
  if (K == 0) { /* BLAS may not touch C when K == 0; keep the semantics */
    ln_gemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
              alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
const char *ln_gemm_backend(void) { return "OpenBLAS"; }
int ln_gemm_threads(void) { return openblas_get_num_threads(); }
void ln_gemm_set_threads(int n) { openblas_set_num_threads(n); }
#else
void ln_gemm(int transA, int transB, size_t M, size_t N, size_t K,
             float alpha, const float *A, size_t lda,
             const float *B, size_t ldb,
             float beta, float *C, size_t ldc) {
  ln_gemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
const char *ln_gemm_backend(void) { return "portable C"; }
int ln_gemm_threads(void) { return 1; }
void ln_gemm_set_threads(int n) { (void)n; }
#endif
