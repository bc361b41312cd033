/*
** gemm.c: row-major single-precision matrix product.
** With LUNET_USE_CBLAS the work goes to cblas_sgemm (OpenBLAS on Debian);
** ln_gemm_ref is the portable fallback used by `make BLAS=none`.
*/
#include <string.h>
#include "kernels.h"

#ifdef LUNET_USE_CBLAS
#include <cblas.h>
#endif

/* block sizes of the fallback: a KB x NB panel of op(B) is packed so the
** inner loop runs over contiguous memory and vectorises */
#define MB 64
#define NB 256
#define KB 128

/* C[0..m)[0..n) += alpha * op(A)[i0.., k0..] * P where P is a packed kb x n panel */
static void panel(int transA, size_t m, size_t n, size_t kb, float alpha,
                  const float *A, size_t lda, size_t i0, size_t k0,
                  const float *P, float *C, size_t ldc) {
  size_t i, k, j;
  for (i = 0; i < m; i++) {
    float *c = C + (i0 + i) * ldc;
    for (k = 0; k < kb; k++) {
      float a = transA ? A[(k0 + k) * lda + i0 + i] : A[(i0 + i) * lda + k0 + k];
      const float *p = P + k * n;
      a *= alpha;
      if (a == 0.0f) continue;
      for (j = 0; j < n; j++) c[j] += a * p[j];
    }
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
      /* pack op(B)[k0..k0+kb][j0..j0+nb] */
      for (k = 0; k < kb; k++) {
        float *p = P + k * nb;
        if (transB) for (j = 0; j < nb; j++) p[j] = B[(j0 + j) * ldb + k0 + k];
        else memcpy(p, B + (k0 + k) * ldb + j0, nb * sizeof(float));
      }
      for (i0 = 0; i0 < M; i0 += MB) {
        size_t mb = M - i0 < MB ? M - i0 : MB;
        panel(transA, mb, nb, kb, alpha, A, lda, i0, k0, P, C + j0, ldc);
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
