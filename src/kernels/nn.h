/*
** nn.h: kernels of lunet's layers and activations (the book's chapters
** 3-4, 9, 14-15), in plain C99 over row-major float arrays.  Like
** kernels.h: no lua.h, no printing, no errors; the caller checks shapes and
** owns every array.  Arrays named out/din/dw/db are written, never read,
** unless said otherwise; n is an element count, rows x cols a matrix.
*/
#ifndef LUNET_NN_H
#define LUNET_NN_H

#include <stddef.h>
#include "kernels.h"

/* ------------------------------------------------------------- dense */

/* out (rows x n_out) = in (rows x n_in) @ w (n_in x n_out) + b (n_out).
** Below LN_DENSE_SPLIT inputs each row of out is set to b and the product
** added (one pass).  From LN_DENSE_SPLIT inputs the sum over the inputs is
** taken in two halves, h = ln_nn_dense_split(n_in): out = (P0 + P1) + b with
** P0 over inputs [0, h) and P1 over [h, n_in), each a product of its own,
** so that two threads can compute one half each (each reading only its
** half of the inputs and weights) and give the same numbers as one.
** scratch: rows x n_out floats for P1 (unused below the split). */
#define LN_DENSE_SPLIT 256
size_t ln_nn_dense_split(size_t n_in); /* h, or 0 below LN_DENSE_SPLIT */
void ln_nn_dense_forward(size_t rows, size_t n_in, size_t n_out,
                         const float *in, const float *w, const float *b,
                         float *scratch, float *out);
/* the same with row i of in at in + idx[i] * ld (rows of a data set read
** in place); only where ln_gemm_rows_ok(n_out) */
void ln_nn_dense_forward_rows(size_t rows, size_t n_in, size_t n_out, const float *in, size_t ld,
                              const size_t *idx, const float *w, const float *b, float *scratch, float *out);
/* out = (p0 + p1) + b per element, rows x n_out (the split forward's last
** step; out may be p0) */
void ln_nn_dense_combine(size_t rows, size_t n_out, const float *p0, const float *p1, const float *b,
                         float *out);
/* Gradients of the dense layer from dv (rows x n_out):
** dw (n_in x n_out) = in^T @ dv, db (n_out) = column sums of dv,
** din (rows x n_in) = dv @ w^T.  Transposes go through ln_gemm's flags. */
void ln_nn_dense_backward(size_t rows, size_t n_in, size_t n_out,
                          const float *in, const float *w, const float *dv,
                          float *dw, float *db, float *din);
/* out[j] = sum over rows i of a[i][j] (accumulated in double) */
void ln_nn_colsum(size_t rows, size_t cols, const float *a, float *out);
/* the same for the first cols columns of rows ld floats apart */
void ln_nn_colsum_ld(size_t rows, size_t cols, size_t ld, const float *a, float *out);
/* The book's regularization gradient, added to dw (read and written):
** dw += l1 * (w >= 0 ? 1 : -1) when l1 > 0, dw += 2 * l2 * w when l2 > 0. */
void ln_nn_reg_grad(size_t n, const float *w, float l1, float l2, float *dw);

/* ------------------------------------------------------- activations */

/* out = max(0, in) (NaN stays NaN); out may alias in */
void ln_nn_relu_forward(size_t n, const float *in, float *out);
/* din = dv where in > 0, else 0 (the book's dinputs[inputs <= 0] = 0) */
void ln_nn_relu_backward(size_t n, const float *in, const float *dv, float *din);
/* out = 1 / (1 + exp(-in)); out may alias in */
void ln_nn_sigmoid_forward(size_t n, const float *in, float *out);
/* din = dv * (1 - out) * out */
void ln_nn_sigmoid_backward(size_t n, const float *out, const float *dv, float *din);
/* per row r: din_r = out_r * (dv_r - dot(dv_r, out_r)), i.e. the softmax
** Jacobian (diag(out) - out out^T) times dv; din may alias dv */
void ln_nn_softmax_backward(size_t rows, size_t cols, const float *out,
                            const float *dv, float *din);

/* --------------------------------------------------------- predictions */

/* out = 1 where a > 0.5, else 0 */
void ln_nn_threshold(size_t n, const float *a, float *out);

/* ----------------------------------------------------------- dropout */

/* mask[i] = 1 / (1 - rate) with probability 1 - rate (uniform < 1 - rate),
** else 0, drawn in order from r; rate in [0, 1) */
void ln_nn_dropout_mask(ln_Rng *r, size_t n, double rate, float *mask);
/* out = in * mask (also the backward pass: din = dv * mask) */
void ln_nn_dropout_apply(size_t n, const float *in, const float *mask, float *out);

#endif
