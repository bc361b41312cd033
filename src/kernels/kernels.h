/*
** kernels.h: lunet's numeric kernels in plain C99 over float arrays.
** Nothing here includes lua.h, prints, exits or raises: every function is a
** pure computation on caller-owned memory, so it can be unit-tested from C,
** fuzzed, or replaced by another backend.  Matrices are row-major.
*/
#ifndef LUNET_KERNELS_H
#define LUNET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- rng */

/* xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64.
** Gaussians by the Box-Muller transform (both values used, the second kept
** in `spare`).  Same seed, same numbers on every machine. */
typedef struct ln_Rng {
  uint64_t s[4];
  double spare;
  int has_spare;
} ln_Rng;

void ln_rng_seed(ln_Rng *r, uint64_t seed);
uint64_t ln_rng_next(ln_Rng *r);
/* uniform double in [0, 1) with 53 random bits */
double ln_rng_uniform(ln_Rng *r);
/* standard normal N(0, 1) */
double ln_rng_normal(ln_Rng *r);
/* uniform integer in [0, n), unbiased (rejection); n > 0 */
uint64_t ln_rng_below(ln_Rng *r, uint64_t n);
/* mask[i] = on where ln_rng_uniform(r) < keep, else 0, for i < n: the
** same draws and results as that loop, without a call per element */
void ln_rng_mask(ln_Rng *r, size_t n, double keep, float on, float *mask);
/* advance r by k calls of ln_rng_next in a few microseconds (T^k over
** GF(2)), so threads can draw disjoint parts of one stream */
void ln_rng_jump(ln_Rng *r, uint64_t k);
/* Fisher-Yates permutation of 0..n-1 into perm */
void ln_rng_permutation(ln_Rng *r, size_t n, size_t *perm);

/* what the vector paths may use: 2 AVX-512F, 1 AVX2, 0 neither (x86-64 with
** GCC or clang; 0 elsewhere), capped by LUNET_CPU=avx2 or =generic (cpu.c) */
int ln_cpu_level(void);

/* a loop compiled three times, for AVX-512, AVX2 and the baseline, the
** loader picking the one the CPU runs (GCC's target_clones, an ifunc; the
** default build keeps no -march).  Only for loops whose results do not
** depend on the vector width (element-wise, no reassociated sums) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define LN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LN_CLONES
#endif

/* --------------------------------------------------------------- gemm */

/* Rows of C per CBLAS call: OpenBLAS' result for a row may depend on the
** call's M (seen with OPENBLAS_CORETYPE=Haswell on AMD Zen 4: a 784-input
** product differs in the last bits between M = 64 and M = 128), so the CBLAS
** build computes C in calls of LN_GEMM_MB rows, and callers that split M
** between threads split at multiples of it (ln_split): every row then comes
** from the same call shape whatever the thread count. */
#define LN_GEMM_MB 32

/* C = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or X^T.
** op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides.
** Uses CBLAS when built with LUNET_USE_CBLAS, else a blocked C fallback. */
void ln_gemm(int transA, int transB, size_t M, size_t N, size_t K,
             float alpha, const float *A, size_t lda,
             const float *B, size_t ldb,
             float beta, float *C, size_t ldc);
/* the portable fallback, always compiled (tested against CBLAS) */
void ln_gemm_ref(int transA, int transB, size_t M, size_t N, size_t K,
                 float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb,
                 float beta, float *C, size_t ldc);
/* ln_gemm(0, 0, ...) with row i of A at A + idx[i] * lda (idx NULL: A + i *
** lda), bit for bit as ln_gemm on those rows gathered; returns 0 and does
** nothing where this CPU and build have no such kernel (then gather) */
int ln_gemm_rows_ok(size_t N);
int ln_gemm_rows(int transA, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                 const size_t *idx, const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* name of the GEMM backend, e.g. "OpenBLAS" or "portable C" */
const char *ln_gemm_backend(void);
/* threads used by the backend (1 for the fallback) */
int ln_gemm_threads(void);
void ln_gemm_set_threads(int n);

/* --------------------------------------------------- element-wise ops */

/* binary operations: arithmetic, powf, fmaxf/fminf-like (NaN if either is
** NaN), and comparisons giving 1 or 0 */
typedef enum {
  LN_ADD, LN_SUB, LN_MUL, LN_DIV, LN_POW, LN_MAXIMUM, LN_MINIMUM,
  LN_EQ, LN_NE, LN_GT, LN_GE, LN_LT, LN_LE, LN_NBINOP
} ln_BinOp;

/* out[i] = a[i] op b[i] (out may alias a or b) */
void ln_binop(ln_BinOp op, size_t n, const float *a, const float *b, float *out);
/* out[i] = a[i] op s  (or s op a[i] when scalar_left) */
void ln_binop_scalar(ln_BinOp op, size_t n, const float *a, float s,
                     int scalar_left, float *out);
/* out[r][c] = a[r][c] op row[c] for rows x cols */
void ln_binop_row(ln_BinOp op, size_t rows, size_t cols, const float *a,
                  const float *row, float *out);
/* NumPy broadcasting over a 4-D index space dims (row-major; out is
** contiguous): out[i] = a[i . sa] op b[i . sb], the strides in elements, 0
** along a dimension the operand stretches.  The innermost runs go to the
** loops above.  out may alias a when sa is out's own (contiguous) layout */
void ln_binop_bcast(ln_BinOp op, const size_t dims[4], const float *a, const size_t sa[4], const float *b,
                    const size_t sb[4], float *out);

typedef enum { LN_NEG, LN_EXP, LN_LOG, LN_ABS, LN_SQRT, LN_TANH, LN_SIGN } ln_UnOp;
void ln_unop(ln_UnOp op, size_t n, const float *a, float *out);
void ln_clamp(size_t n, const float *a, float lo, float hi, float *out);
/* out[i] = mask[i] != 0 ? a[i] : b[i] (each possibly broadcast, as ln_binop_bcast) */
void ln_where_bcast(const size_t dims[4], const float *mask, const size_t sm[4], const float *a, const size_t sa[4],
                    const float *b, const size_t sb[4], float *out);

/* reductions over the middle of a tensor viewed as outer x n x inner (one
** dimension of it; the result is outer x inner): sums in double (acc holds
** inner doubles; std 2 x inner), min/max ignore NaN unless all are NaN,
** arg* give the first 1-based position of the extreme (as floats) */
void ln_reduce_sum(size_t outer, size_t n, size_t inner, const float *a, int mean, double *acc, float *out);
void ln_reduce_std(size_t outer, size_t n, size_t inner, const float *a, double *acc, float *out);
void ln_reduce_minmax(size_t outer, size_t n, size_t inner, const float *a, int max, float *out);
void ln_reduce_argminmax(size_t outer, size_t n, size_t inner, const float *a, int max, float *out);

/* reductions in double precision */
double ln_sum(size_t n, const float *a);
/* population standard deviation (divides by n, as NumPy's default) */
double ln_std(size_t n, const float *a);
float ln_min(size_t n, const float *a);
float ln_max(size_t n, const float *a);
/* index (0-based) of the first maximum of a[0..n) */
size_t ln_argmax(size_t n, const float *a);
/* 1-based column of the first maximum of each row, as floats (labels) */
void ln_argmax_labels(size_t rows, size_t cols, const float *a, float *out);

/* row-wise softmax with the row maximum subtracted first (out may alias in) */
void ln_softmax_rows(size_t rows, size_t cols, const float *in, float *out);

#endif
