/*
** png.c: PNG decoding and encoding through libpng.  libpng's errors longjmp
** back into the function that called it (png_jmpbuf), which returns -1 with
** the message in the reader; everything the reader allocated is released by
** ln_png_close, so a caller can own a reader from a garbage-collected box.
**
** A small regular file is read whole into the reader's reused buffer (one
** open, fstat, read, close) and libpng decodes it from memory.
*/
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"
#include "image.h"

#define DEFLATE_MAX_RATIO 1032u /* deflate never expands more than this */

/* ============================================================ reading */

/* libpng error callback: keep the message, jump back */
static void on_error(png_structp png, png_const_charp msg) {
  ln_PngReader *r = (ln_PngReader *)png_get_error_ptr(png);
  if (r->warn[0]) snprintf(r->err, sizeof r->err, "%s (%.120s)", msg, r->warn);
  else snprintf(r->err, sizeof r->err, "%s", msg);
  png_longjmp(png, 1);
}

/* libpng warning callback for reading: kept to explain a later error
** (e.g. "Invalid IHDR data" after "Image width exceeds user limit") */
static void on_read_warning(png_structp png, png_const_charp msg) {
  ln_PngReader *r = (ln_PngReader *)png_get_error_ptr(png);
  snprintf(r->warn, sizeof r->warn, "%s", msg);
}

/* libpng warnings while writing are ignored */
static void on_warning(png_structp png, png_const_charp msg) {
  (void)png; (void)msg;
}

/* read n bytes from the file or the memory buffer; returns bytes read */
static size_t rawread(ln_PngReader *r, unsigned char *out, size_t n) {
  if (r->fp) return fread(out, 1, n, r->fp);
  if (n > r->memlen - r->mempos) n = r->memlen - r->mempos;
  memcpy(out, r->mem + r->mempos, n);
  r->mempos += n;
  return n;
}

/* libpng read callback */
static void read_data(png_structp png, png_bytep out, size_t n) {
  ln_PngReader *r = (ln_PngReader *)png_get_io_ptr(png);
  if (rawread(r, out, n) != n) {
    if (r->fp && ferror(r->fp)) png_error(png, strerror(errno));
    png_error(png, "truncated (unexpected end of file)");
  }
}

/* a closed reader */
void ln_png_init(ln_PngReader *r) {
  memset(r, 0, sizeof *r);
}

/* release what one image needs (libpng structs, row buffers, the file);
** the reusable file buffer stays (safe twice) */
void ln_png_done(ln_PngReader *r) {
  if (r->png) {
    png_structp png = (png_structp)r->png;
    png_infop info = (png_infop)r->info;
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
  }
  r->png = r->info = NULL;
  free(r->buf); r->buf = NULL;
  free(r->rows); r->rows = NULL;
  if (r->fp) fclose(r->fp);
  r->fp = NULL;
  r->mem = NULL;
}

/* release everything (safe twice) */
void ln_png_close(ln_PngReader *r) {
  ln_png_done(r);
  free(r->file); r->file = NULL; r->filecap = 0;
}

/* format into r->err, returns -1 */
static int fail(ln_PngReader *r, const char *msg) {
  snprintf(r->err, sizeof r->err, "%s", msg);
  return -1;
}

/* read the signature and header with libpng, set the transforms (setjmp
** inside) */
static int open_common(ln_PngReader *r, int gray) {
  unsigned char sig[8];
  png_structp png;
  png_infop info;
  png_uint_32 w, h;
  int depth, ctype, interlace, inch;
  uint64_t raw;
  if (rawread(r, sig, 8) != 8 || png_sig_cmp(sig, 0, 8) != 0)
    return fail(r, "not a PNG file (bad signature)");
  png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, on_error, on_read_warning);
  if (png == NULL) return fail(r, "out of memory");
  r->png = png;
  info = png_create_info_struct(png);
  if (info == NULL) return fail(r, "out of memory");
  r->info = info;
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_user_limits(png, LN_PNG_MAXDIM, LN_PNG_MAXDIM);
  png_set_chunk_malloc_max(png, LN_PNG_CHUNK_MAX);
  png_set_read_fn(png, r, read_data);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
  inch = png_get_channels(png, info);
  /* a small file cannot hold a huge image: deflate's ratio is bounded */
  raw = (uint64_t)h * (((uint64_t)w * (uint64_t)inch * (uint64_t)depth + 7) / 8 + 1);
  if (raw / DEFLATE_MAX_RATIO > r->srcsize + 1024) {
    snprintf(r->err, sizeof r->err,
             "header declares %lux%lu pixels (%llu bytes of pixel data) but the file holds only %llu bytes",
             (unsigned long)w, (unsigned long)h, (unsigned long long)raw, (unsigned long long)r->srcsize);
    return -1;
  }
  r->width = w;
  r->height = h;
  r->src_color = (ctype & PNG_COLOR_MASK_COLOR) != 0;
  r->src_alpha = (ctype & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS);
  r->gray = gray;
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (gray || (!r->src_color && !r->src_alpha)) r->channels = 1;
  else r->channels = r->src_alpha ? 4 : 3;
  (void)png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return 0;
}

/* open a file source, note its size, read the header.  Small regular files
** are read whole into the reader's buffer and decoded from memory. */
int ln_png_open_at(ln_PngReader *r, int dirfd, const char *path, int gray) {
  struct stat st;
  long size;
  int fd;
  r->warn[0] = r->err[0] = '\0';
  fd = ln_open_regular(dirfd, path, r->err, sizeof r->err);
  if (fd < 0) return -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t)LN_PNG_SMALL) {
    size_t want = (size_t)st.st_size, got = 0;
    if (r->filecap < want || r->file == NULL) {
      size_t cap = want < 4096 ? 4096 : want;
      unsigned char *f = (unsigned char *)malloc(cap);
      if (f == NULL) { close(fd); return fail(r, "out of memory"); }
      free(r->file);
      r->file = f;
      r->filecap = cap;
    }
    while (got < want) {
      ssize_t k = read(fd, r->file + got, want - got);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) { int e = errno; close(fd); return fail(r, strerror(e)); }
      if (k == 0) break;
      got += (size_t)k;
    }
    close(fd);
    r->mem = r->file;
    r->memlen = got;
    r->mempos = 0;
    r->srcsize = got;
    return open_common(r, gray);
  }
  r->fp = fdopen(fd, "rb");
  if (r->fp == NULL) { int e = errno; close(fd); return fail(r, strerror(e)); }
  if (fseek(r->fp, 0, SEEK_END) != 0 || (size = ftell(r->fp)) < 0 || fseek(r->fp, 0, SEEK_SET) != 0)
    return fail(r, errno == EISDIR || errno == ESPIPE ? strerror(errno) : "cannot determine the file size");
  r->srcsize = (uint64_t)size;
  return open_common(r, gray);
}

/* open a file source by path */
int ln_png_open(ln_PngReader *r, const char *path, int gray) {
  return ln_png_open_at(r, AT_FDCWD, path, gray);
}

/* a memory source (fuzzing, embedded data) */
int ln_png_open_mem(ln_PngReader *r, const void *data, size_t len, int gray) {
  r->warn[0] = r->err[0] = '\0';
  r->mem = (const unsigned char *)data;
  r->memlen = len;
  r->mempos = 0;
  r->srcsize = len;
  return open_common(r, gray);
}

/* one decoded row (8- or 16-bit, inch channels) into out */
static void convert_row(const ln_PngReader *r, const unsigned char *p, int inch, int depth, float *out) {
  size_t x, w = r->width;
  int c = r->channels, k;
  if (depth == 8 && inch == c) { /* no conversion: a vectorisable copy */
    size_t n = w * (size_t)c;
    for (x = 0; x < n; x++) out[x] = (float)p[x];
    return;
  }
  for (x = 0; x < w; x++) {
    double v[4];
    for (k = 0; k < inch; k++) /* 16-bit: exact 0 and 255 at the ends */
      v[k] = depth == 16 ? ((p[2 * k] << 8) | p[2 * k + 1]) * 255.0 / 65535.0 : (double)p[k];
    p += (size_t)inch * (depth == 16 ? 2 : 1);
    if (c == 1) {
      out[0] = (float)(inch >= 3 ? 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2] : v[0]);
    } else if (inch >= 3) {
      for (k = 0; k < c; k++) out[k] = (float)v[k];
    } else { /* gray + alpha into RGBA */
      out[0] = out[1] = out[2] = (float)v[0];
      out[3] = (float)v[1];
    }
    out += c;
  }
}

/* decode all rows into out (row by row, or the whole image when interlaced) */
int ln_png_read(ln_PngReader *r, float *out) {
  png_structp png;
  png_infop info;
  size_t rowbytes, y, rowfloats = r->width * (size_t)r->channels;
  int inch, depth, passes;
  png = (png_structp)r->png;
  info = (png_infop)r->info;
  if (png == NULL || info == NULL) return fail(r, "reader is not open");
  if (setjmp(png_jmpbuf(png))) return -1;
  rowbytes = png_get_rowbytes(png, info);
  inch = png_get_channels(png, info);
  depth = png_get_bit_depth(png, info);
  passes = png_get_interlace_type(png, info) == PNG_INTERLACE_NONE ? 1 : 7;
  if (passes == 1) {
    r->buf = (unsigned char *)malloc(rowbytes);
    if (r->buf == NULL) return fail(r, "out of memory");
    for (y = 0; y < r->height; y++) {
      png_read_row(png, r->buf, NULL);
      convert_row(r, r->buf, inch, depth, out + y * rowfloats);
    }
  } else {
    if (r->height > SIZE_MAX / rowbytes) return fail(r, "image too large");
    r->buf = (unsigned char *)malloc(r->height * rowbytes);
    r->rows = (unsigned char **)malloc(r->height * sizeof *r->rows);
    if (r->buf == NULL || r->rows == NULL) return fail(r, "out of memory");
    for (y = 0; y < r->height; y++) r->rows[y] = r->buf + y * rowbytes;
    png_read_image(png, r->rows);
    for (y = 0; y < r->height; y++)
      convert_row(r, r->rows[y], inch, depth, out + y * rowfloats);
  }
  png_read_end(png, NULL);
  return 0;
}

/* ============================================================ writing */

typedef struct WState {
  FILE *fp;
  unsigned char *row;
  char *err;
  size_t errlen;
  int saved_errno;
} WState;

/* libpng error callback for writing */
static void w_error(png_structp png, png_const_charp msg) {
  WState *s = (WState *)png_get_error_ptr(png);
  if (s->saved_errno == 0) snprintf(s->err, s->errlen, "%s", msg);
  png_longjmp(png, 1);
}

/* libpng write callback: keeps errno of a failed fwrite */
static void w_data(png_structp png, png_bytep p, size_t n) {
  WState *s = (WState *)png_get_io_ptr(png);
  if (fwrite(p, 1, n, s->fp) != n) {
    s->saved_errno = errno ? errno : EIO;
    snprintf(s->err, s->errlen, "%s", strerror(s->saved_errno));
    png_error(png, "write failed");
  }
}

/* libpng flush callback: the caller flushes */
static void w_flush(png_structp png) {
  (void)png;
}

/* the body of ln_png_write, with setjmp (s->row is freed by the caller) */
static int write_body(png_structp png, png_infop info, WState *s, const float *data,
                      size_t h, size_t w, int c) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  size_t y, i, n = w * (size_t)c;
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_write_fn(png, s, w_data, w_flush);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, types[c], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (y = 0; y < h; y++) {
    const float *src = data + y * n;
    for (i = 0; i < n; i++) {
      float v = src[i];
      /* NaN goes to 0; round half away from zero */
      s->row[i] = (unsigned char)(v >= 255.0f ? 255 : v > 0.0f ? (int)(v + 0.5f) : 0);
    }
    png_write_row(png, s->row);
  }
  png_write_end(png, NULL);
  return 0;
}

/* encode an 8-bit PNG; frees everything before returning */
int ln_png_write(FILE *fp, const float *data, size_t h, size_t w, int c, char *err, size_t errlen) {
  WState s;
  png_structp png;
  png_infop info;
  int rc;
  s.fp = fp; s.row = NULL; s.err = err; s.errlen = errlen; s.saved_errno = 0;
  if (c < 1 || c > 4) { snprintf(err, errlen, "%d channels (expected 1 to 4)", c); return -1; }
  if (h < 1 || w < 1 || h > 0x7fffffff || w > 0x7fffffff / 4) {
    snprintf(err, errlen, "bad image size %zux%zu", h, w);
    return -1;
  }
  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, w_error, on_warning);
  if (png == NULL) { snprintf(err, errlen, "out of memory"); return -1; }
  info = png_create_info_struct(png);
  s.row = (unsigned char *)malloc(w * (size_t)c);
  if (info == NULL || s.row == NULL) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    free(s.row);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  rc = write_body(png, info, &s, data, h, w, c);
  png_destroy_write_struct(&png, &info);
  free(s.row);
  if (rc != 0 && s.saved_errno) errno = s.saved_errno;
  return rc;
}
