/*
** image.h: lunet's file decoders and image kernels in plain C (no lua.h):
** IDX files through zlib, PNG decoding/encoding through libpng, resizing.
**
** Every reader works in two phases so that a binding can allocate the
** destination between them: `open` reads and checks the header, `read`
** decodes the data straight into a caller-owned float array, `close`
** releases everything and is safe to call twice (also on a reader that was
** only initialised).  Errors come back as a return code (0 ok, -1 failure)
** with a message in the reader's `err` buffer (or the `err` argument); no
** function prints, exits or raises.
*/
#ifndef LUNET_IMAGE_H
#define LUNET_IMAGE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define LN_ERRLEN 256

/* ---------------------------------------------------------------- IDX */

/* IDX element types (third byte of the magic number) */
enum {
  LN_IDX_U8 = 0x08, LN_IDX_I8 = 0x09, LN_IDX_I16 = 0x0B,
  LN_IDX_I32 = 0x0C, LN_IDX_F32 = 0x0D, LN_IDX_F64 = 0x0E
};

typedef struct ln_IdxReader {
  int fd;                 /* the file, when open */
  int open;               /* fd is open */
  int gzipped;            /* 0 plain file, 1 gzip stream */
  void *z;                /* gzipped: the z_stream (malloc'd), with its input buffer */
  unsigned char *in;
  int zend;               /* gzipped: the last gzip member ended, nothing follows */
  uint64_t inread;        /* bytes read from the file */
  uint64_t filesize;      /* bytes on disk */
  int type;               /* LN_IDX_* */
  size_t esize;           /* bytes per element */
  int ndim;               /* 1..4 */
  size_t dims[4];
  size_t count;           /* product of dims */
  char err[LN_ERRLEN];
} ln_IdxReader;

/* element size of an IDX type code, 0 when the code is unknown */
size_t ln_idx_typesize(int type);
/* Parse and check the 4 + 4*ndim header bytes in buf (len bytes).
** On success fills type, esize, ndim, dims, count and returns the header
** length; returns 0 when more bytes are needed (*need set) and -1 on a bad
** header (message in err). */
long ln_idx_parse(const unsigned char *buf, size_t len, ln_IdxReader *r, size_t *need);
/* convert count big-endian elements of type at src into floats */
void ln_idx_decode(int type, const unsigned char *src, size_t count, float *dst);
void ln_idx_init(ln_IdxReader *r);
#define LN_IDX_MAX_RATIO 64
/* open path (plain or gzip), read and check the header against the file:
** a plain file must hold exactly the declared bytes, a gzip file at most
** LN_IDX_MAX_RATIO times its size (real IDX files compress by a small
** factor: Fashion-MNIST 1.8, MNIST 5); bytes after the gzip stream (other
** than further gzip members) are refused like trailing data in a plain file */
int ln_idx_open(ln_IdxReader *r, const char *path);
/* read the r->count elements into out (r->count floats) and check that
** nothing follows them */
int ln_idx_read(ln_IdxReader *r, float *out);
void ln_idx_close(ln_IdxReader *r);
/* advise the kernel to back the 2 MiB-aligned interior of a big buffer
** that is about to be filled with huge pages (fewer page faults; Linux
** THP in "madvise" mode); a no-op elsewhere */
void ln_hint_hugepages(void *p, size_t n);

/* ---------------------------------------------------------------- PNG */

#define LN_PNG_MAXDIM 16384           /* png_set_user_limits */
#define LN_PNG_CHUNK_MAX (8u << 20)   /* png_set_chunk_malloc_max */
#define LN_PNG_SMALL (64u << 10)      /* files up to this size are read whole */

typedef struct ln_PngReader {
  FILE *fp;               /* file source (owned) */
  const unsigned char *mem; size_t memlen, mempos; /* memory source */
  uint64_t srcsize;       /* bytes in the source, to bound the image size */
  void *png, *info;       /* png_structp, png_infop */
  unsigned char *buf;     /* decoded rows (owned) */
  unsigned char **rows;   /* row pointers for interlaced images (owned) */
  size_t width, height;
  int channels;           /* output channels: 1 (gray), 3 (RGB), 4 (RGBA) */
  int gray;               /* convert to gray */
  int src_color, src_alpha; /* file has color / alpha (channel or tRNS) */
  unsigned char *file; size_t filecap; /* whole small file (owned, reused) */
  char warn[LN_ERRLEN];   /* libpng's last warning, appended to errors */
  char err[LN_ERRLEN];
} ln_PngReader;

void ln_png_init(ln_PngReader *r);
/* Open a PNG file (or a memory buffer, which must outlive the reader) and
** read its header.  gray != 0 asks for one luma channel (0.299 R + 0.587 G
** + 0.114 B, alpha dropped).  Otherwise gray files give 1 channel, color
** files 3, and files with transparency (alpha channel or tRNS) 4 (gray is
** replicated into R, G, B). */
int ln_png_open(ln_PngReader *r, const char *path, int gray);
/* the same with path relative to the open folder dirfd (openat) */
int ln_png_open_at(ln_PngReader *r, int dirfd, const char *path, int gray);
int ln_png_open_mem(ln_PngReader *r, const void *data, size_t len, int gray);
/* decode into out (height * width * channels floats, 0..255; 16-bit
** samples scaled by 255 / 65535) */
int ln_png_read(ln_PngReader *r, float *out);
/* release one image's resources but keep the reusable buffers, so that the
** reader can open the next file (safe twice) */
void ln_png_done(ln_PngReader *r);
/* release everything (safe twice) */
void ln_png_close(ln_PngReader *r);

/* Write an 8-bit PNG of h x w pixels with c channels (1 gray, 2 gray +
** alpha, 3 RGB, 4 RGBA) to fp; values are rounded and clamped to 0..255.
** The caller flushes and closes fp.  Returns 0, or -1 with a message in err
** (errno is kept from a failed write). */
int ln_png_write(FILE *fp, const float *data, size_t h, size_t w, int c,
                 char *err, size_t errlen);

/* ------------------------------------------------------------- resize */

/* Bilinear resize of sh x sw x c (row-major, channels last) into
** dh x dw x c, like OpenCV's INTER_LINEAR: source coordinate
** (d + 0.5) * (s / d) - 0.5, clamped to the border pixels. */
void ln_resize_bilinear(const float *src, size_t sh, size_t sw, size_t c,
                        float *dst, size_t dh, size_t dw);
/* Area resize: each output pixel is the mean of the source area it covers,
** partially covered pixels weighted by the covered fraction (exact box
** means for integer factors; OpenCV's INTER_AREA when shrinking). */
void ln_resize_area(const float *src, size_t sh, size_t sw, size_t c,
                    float *dst, size_t dh, size_t dw);

#endif
