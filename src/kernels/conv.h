/*
** conv.h: kernels of the image layers (Conv2D, MaxPool2D) and of batch
** normalisation, in plain C99 like nn.h: no lua.h, no errors, the caller
** checks shapes and owns every array.  Images are N x C x H x W, row-major
** (PyTorch's layout); convolution weights are out x in x kh x kw.
**
** A convolution is one matrix product over "patch rows" (im2row): row r =
** (n, oy, ox) of the patch matrix P holds the in x kh x kw input values the
** output pixel (oy, ox) of sample n sees (zeros in the padding), so
**   Y (rows x out) = P (rows x in*kh*kw) @ W^T,
**   dW^T = P^T @ dY, and per sample the patch gradient in columns, W^T dy,
**   summed back into its pixels (col2im).
** Every function works on a range of rows or samples, so the engine's threads
** can share a batch; each output element is written by one range only and
** summed in a fixed order, so results do not depend on the split.
*/
#ifndef LUNET_CONV_H
#define LUNET_CONV_H

#include <stddef.h>

typedef struct ln_ConvGeom {
  size_t n, c, h, w;      /* input: n x c x h x w */
  size_t out, kh, kw;     /* output channels, kernel */
  size_t sh, sw;          /* stride */
  size_t pt, pl;          /* zero padding at the top and left (the bottom and
                             right follow from oh, ow) */
  size_t oh, ow;          /* output rows and columns */
} ln_ConvGeom;

/* samples a block of a convolution's work: as many as keep its patches,
** their gradient and the product rows within LN_CONV_BLOCK_BYTES (so they
** stay in a core's L2 cache), at least 1, at most n */
#define LN_CONV_BLOCK_BYTES ((size_t)256 * 1024)
size_t ln_conv_block(const ln_ConvGeom *g);

/* output size of one axis: in + pads - k over stride, plus one; 0 when the
** kernel does not fit */
size_t ln_conv_outsize(size_t in, size_t k, size_t stride, size_t pad_total);
/* padding = "same" (ONNX's SAME_UPPER): out = ceil(in / stride), the total
** padding max((out - 1) * stride + k - in, 0), its odd extra at the end;
** returns the total, *out and *front set */
size_t ln_conv_same(size_t in, size_t k, size_t stride, size_t *out, size_t *front);

/* rows r0 .. r1 of the patch matrix (rows = n * oh * ow, in * kh * kw
** columns) of the images x */
void ln_conv_im2row(const ln_ConvGeom *g, const float *x, size_t r0, size_t r1, float *P);
/* one sample's dx (c x h x w) from its patch gradient in columns, dPt
** (in * kh * kw rows of oh * ow values: W^T dy of the sample) */
void ln_conv_col2im(const ln_ConvGeom *g, const float *dPt, float *dx);
/* samples n0 .. n1 of y (n x out x oh x ow) = Yr (rows x out) + b (b may be
** NULL) */
void ln_conv_rows2img(const ln_ConvGeom *g, const float *Yr, const float *b, size_t n0, size_t n1, float *y);
/* samples n0 .. n1 of dYr (rows x out) from dy (n x out x oh x ow) */
void ln_conv_img2rows(const ln_ConvGeom *g, const float *dy, size_t n0, size_t n1, float *dYr);

/* ------------------------------------------------------------ pooling */

/* max pooling of planes p0 .. p1 (a plane is one channel of one sample, h x
** w; output oh x ow) with a kh x kw window moved by sh, sw; arg receives
** the position in its plane of each maximum (the first one, or the first
** NaN), as a float (exact below 2^24 pixels a plane) */
void ln_maxpool_forward(size_t h, size_t w, size_t kh, size_t kw, size_t sh, size_t sw, size_t oh, size_t ow,
                        const float *x, size_t p0, size_t p1, float *y, float *arg);
/* planes p0 .. p1 of dx (zeroed, then each dy added at its maximum) */
void ln_maxpool_backward(size_t h, size_t w, size_t oh, size_t ow, const float *dy, const float *arg, size_t p0,
                         size_t p1, float *dx);

/* ------------------------------------------------- batch normalisation */

/* x is n x ch x inner (inner = h * w for images, 1 for a matrix's
** features); features f0 .. f1.  Training: each feature's mean and biased
** variance over its m = n * inner values (sums in double, in order), xhat =
** (x - mean) / sqrt(var + eps), y = gamma * xhat + beta; mean, var and
** istd (1 / sqrt(var + eps)) written per feature. */
void ln_bn_train_forward(size_t n, size_t ch, size_t inner, const float *x, const float *gamma, const float *beta,
                         double eps, size_t f0, size_t f1, float *mean, float *var, float *istd, float *xhat,
                         float *y);
/* inference: y = gamma * xhat + beta with xhat = (x - rmean) * istd, istd
** = 1 / sqrt(rvar + eps) written per feature; xhat may be NULL */
void ln_bn_infer(size_t n, size_t ch, size_t inner, const float *x, const float *gamma, const float *beta,
                 const float *rmean, const float *rvar, double eps, size_t f0, size_t f1, float *istd, float *xhat,
                 float *y);
/* gradients from dy: dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma *
** istd / m * (m * dy - dbeta - xhat * dgamma) */
void ln_bn_backward(size_t n, size_t ch, size_t inner, const float *dy, const float *xhat, const float *gamma,
                    const float *istd, size_t f0, size_t f1, float *dgamma, float *dbeta, float *dx);
/* the same after an inference forward (fixed statistics, an affine map):
** dx = gamma * istd * dy */
void ln_bn_backward_affine(size_t n, size_t ch, size_t inner, const float *dy, const float *xhat,
                           const float *gamma, const float *istd, size_t f0, size_t f1, float *dgamma, float *dbeta,
                           float *dx);

#endif
