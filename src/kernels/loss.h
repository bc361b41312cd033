/*
** loss.h: kernels of the losses and accuracies (the book's chapters 5, 9,
** 16, 17 and 19), plain C99 over float arrays; no lua.h, no errors.
**
** Shapes: rows = samples, cols = outputs per sample, row-major.  Class
** labels are 1-based floats (1..cols) that the caller has validated with
** ln_labels_check.  Per-sample sums are taken in double; the element-wise
** arithmetic is float, like NumPy on float32 arrays.  Outputs may alias the
** inputs of the same shape (each element is read before it is written).
** Gradients are of the mean over a batch of `samples` rows, of which a call
** computes `rows` (so a batch can be done in parts).
*/
#ifndef LUNET_LOSS_H
#define LUNET_LOSS_H

#include <stddef.h>

/* the book's clipping bounds: np.clip(y_pred, 1e-7, 1 - 1e-7) in float32 */
#define LN_CLIP_LO 1e-7f
#define LN_CLIP_HI ((float)(1.0 - 1e-7))

/* index of the first label that is not an integer in 1..k, or n if all are */
size_t ln_labels_check(size_t n, const float *labels, size_t k);

/* ------------------------------------------------ categorical cross-entropy */

/* out[r] = -log(clip(pred[r][labels[r]])) */
void ln_cce_sparse_forward(size_t rows, size_t cols, const float *pred,
                           const float *labels, float *out);
/* out[r] = -log(sum_c clip(pred[r][c]) * y[r][c]) */
void ln_cce_onehot_forward(size_t rows, size_t cols, const float *pred,
                           const float *y, float *out);
/* dinputs = -onehot(labels) / dvalues / samples (no clipping, as the book) */
void ln_cce_sparse_backward(size_t rows, size_t cols, const float *dvalues,
                            const float *labels, size_t samples, float *dinputs);
/* dinputs = -y / dvalues / samples */
void ln_cce_onehot_backward(size_t rows, size_t cols, const float *dvalues,
                            const float *y, size_t samples, float *dinputs);

/* softmax + cross-entropy combined: dinputs = (dvalues - onehot) / samples
** for `rows` rows of a batch of `samples` (so a batch can be done in parts),
** the labels given as 1-based numbers or as one-hot rows (first argmax) */
void ln_softmax_cce_grad_sparse(size_t rows, size_t cols, const float *dvalues,
                                const float *labels, size_t samples, float *dinputs);
void ln_softmax_cce_grad_onehot(size_t rows, size_t cols, const float *dvalues,
                                const float *y, size_t samples, float *dinputs);

/* ------------------------------------------------ binary cross-entropy */

/* out[r] = mean_c -(y log p + (1 - y) log(1 - p)), p = clip(pred) */
void ln_bce_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out);
/* dinputs = -(y / p - (1 - y) / (1 - p)) / cols / samples, p = clip(dvalues) */
void ln_bce_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs);

/* ------------------------------------------------ regression losses */

/* out[r] = mean_c (y - pred)^2 */
void ln_mse_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out);
/* dinputs = -2 (y - dvalues) / cols / samples */
void ln_mse_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs);
/* out[r] = mean_c |y - pred| */
void ln_mae_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out);
/* dinputs = -sign(y - dvalues) / cols / samples (sign(0) = 0) */
void ln_mae_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs);

/* ------------------------------------------------ regularization */

/* sum of |a[i]| and of a[i]^2, in double, over 8 interleaved lanes added
** pairwise (a fixed order: the same value on every machine and thread count) */
double ln_sum_abs(size_t n, const float *a);
double ln_sum_sq(size_t n, const float *a);

/* ------------------------------------------------ accuracy */

/* number of i with a[i] == b[i] */
size_t ln_count_equal(size_t n, const float *a, const float *b);
/* number of rows r with pred[r] == argmax(y[r]) + 1 (first maximum) */
size_t ln_count_onehot(size_t rows, size_t cols, const float *pred, const float *y);
/* number of i with |pred[i] - y[i]| < precision (float arithmetic) */
size_t ln_count_within(size_t n, const float *pred, const float *y, float precision);

/* the accuracies' comparisons of rows rows of predictions (pcols values a
** row) with targets (ycols values a row): categorical, one label a row
** against labels (ycols 1) or one-hot rows; binary, element-wise equal;
** regression, element-wise within precision */
enum { LN_ACC_NONE, LN_ACC_CATEGORICAL, LN_ACC_BINARY, LN_ACC_REGRESSION };
size_t ln_accuracy_count(int mode, size_t rows, size_t pcols, size_t ycols, const float *pred, const float *y,
                         float precision);

#endif
