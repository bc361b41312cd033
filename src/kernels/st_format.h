/*
** st_format.h: the safetensors header (https://github.com/huggingface/safetensors)
** as plain C, without lua.h, so a libFuzzer target can drive it directly.
**
** File layout: 8-byte little-endian unsigned header length N, N bytes of
** UTF-8 JSON (optionally padded with spaces), then the data section.  The
** JSON maps tensor names to {"dtype": "F32", "shape": [..], "data_offsets":
** [begin, end]} (offsets into the data section) plus an optional
** "__metadata__" object of string -> string.  Only F32 tensors of 1 to 4
** positive dimensions are accepted, and I64 scalars (shape [], 8 bytes:
** PyTorch's batch-norm num_batches_tracked), and the data section must be
** covered by the tensors exactly (no holes, no overlaps).
*/
#ifndef LN_ST_FORMAT_H
#define LN_ST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define LN_ST_MAXDIM 4
#define LN_ST_MAXHEADER ((uint64_t)100 * 1000 * 1000) /* 100 MB, as the reference */
#define LN_ST_ALIGN 8                                 /* header padded to a multiple */

typedef struct ln_StTensor {
  const char *name;
  int i64;                /* 1: an I64 scalar (ndim 0, numel 1, 8 bytes) */
  int ndim;
  uint64_t dims[LN_ST_MAXDIM];
  uint64_t numel;
  uint64_t begin, end;    /* byte offsets in the data section */
} ln_StTensor;

typedef struct ln_StMeta {
  const char *key, *value;
} ln_StMeta;

typedef struct ln_StHeader {
  ln_StTensor *tensors;   /* after ln_st_parse: sorted by begin offset */
  size_t ntensors;
  ln_StMeta *meta;        /* after ln_st_parse: in file order */
  size_t nmeta;
  void *owner;            /* ln_st_parse: the JSON tree the strings live in */
} ln_StHeader;

/* Parse and validate the header JSON json[0..len) against a data section of
** data_len bytes.  On success fills *out (release with ln_st_free) and
** returns 0; on failure leaves *out empty, writes a reason into err (errlen
** bytes, always NUL-terminated when errlen > 0) and returns -1.  Never
** reads past json + len; json need not be NUL-terminated. */
int ln_st_parse(const char *json, size_t len, uint64_t data_len, ln_StHeader *out,
                char *err, size_t errlen);

/* Release what ln_st_parse allocated; safe on a zeroed header and twice. */
void ln_st_free(ln_StHeader *h);

/* Build the header JSON for h->tensors (written in the given order, each
** data_offsets following the previous one; begin/end/numel are filled in)
** and h->meta ("__metadata__" first, when nmeta > 0).  Returns a malloc'd
** buffer padded with spaces to a multiple of LN_ST_ALIGN bytes (its length
** in *len, NUL-terminated after it), or NULL with a reason in err.  Sets
** *data_len to the size of the data section the tensors need. */
char *ln_st_format(ln_StHeader *h, size_t *len, uint64_t *data_len, char *err, size_t errlen);

/* 1 when s[0..n) is valid UTF-8 without NUL bytes, else 0 */
int ln_st_utf8ok(const char *s, size_t n);
/* the offset of the first \u0000 escape inside a JSON string of s (len
** bytes), or len: cJSON ends a string there, so readers refuse it */
size_t ln_json_nul_escape(const char *s, size_t len);

/* little-endian 64-bit integer codec for the length field */
uint64_t ln_st_getu64le(const unsigned char *p);
void ln_st_putu64le(unsigned char *p, uint64_t v);

#endif
