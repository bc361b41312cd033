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

void ln_gemm_ref(int transA, int transB, size_t M, size_t N, size_t K,
                 float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb,
                 float beta, float *C, size_t ldc) {
  float P[KB * NB];
  size_t i, j, k0, j0, i0;
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
      for (i0 = 0; i0 < M; i0 += MR) {
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
