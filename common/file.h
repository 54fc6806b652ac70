/* file — whole files the way every part of anomesh needs them. Writes: a
 * reader (a poller, a restarted service) must never see half a file, so
 * the text goes to a temporary file beside the target and is renamed over
 * it. Reads: a file from outside (a recording, a model dropped into a
 * directory) is read whole but never past a cap, so a wrong or hostile
 * file cannot take the process's memory. Leaf module: returns codes and
 * fills err, never logs. */
#ifndef ANOMESH_FILE_H
#define ANOMESH_FILE_H

#include "error.h"

#include <stddef.h>

/* Replace path with len bytes of data atomically: write "<path>.tmp.<pid>",
 * fsync it when durable (a model file, something that must survive a power
 * cut; a port file or a cursor that is re-derived after a crash need not),
 * rename it over path. On failure the temporary file is removed and path
 * is untouched. Returns 0, AM_EINVAL (path too long) or AM_EIO (errno kept,
 * err names the file and the reason). */
int file_write_atomic(const char *path, const void *data, size_t len, int durable,
		      char *err, size_t errlen);

/* Read fd from its offset to its end, but at most cap + 1 bytes (one byte
 * past the cap proves the file too big without reading all of it), into a
 * malloc'd buffer with a NUL after the last byte (*out, *len; free() it).
 * The caller compares *len with cap. Returns 0, AM_ENOMEM or AM_EIO
 * (errno kept); it never fills a message: the caller names the file. */
int file_read_capped(int fd, size_t cap, char **out, size_t *len);

#endif
