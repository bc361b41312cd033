/*
** fileio.h: opening the files lunet's binary readers take (IDX, PNG,
** safetensors).  Plain POSIX, no Lua.
*/
#ifndef LUNET_FILEIO_H
#define LUNET_FILEIO_H

#include <stddef.h>

/* Open path (relative to dirfd, AT_FDCWD for the working folder) for
** reading, refusing what is not a regular file: the open never blocks (a
** FIFO without a writer would block forever), then fstat decides.  Returns
** a blocking descriptor, or -1 with the reason in err ("Is a directory",
** "not a regular file (a FIFO)", errno's text). */
int ln_open_regular(int dirfd, const char *path, char *err, size_t errlen);

/* Create or truncate path for writing, refusing what exists and is not a
** regular file (a FIFO would block, a device is no place for a file);
** never blocks.  Returns the descriptor, or -1 with the reason in err. */
int ln_create_regular(const char *path, char *err, size_t errlen);

/* "a FIFO", "a character device", ... for a st_mode that is not a regular file */
const char *ln_filekind(unsigned mode);

#endif
