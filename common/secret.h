/* secret — passwords kept out of sight: read from a file that only its
 * owner may read, and wiped from the command line when given there (where
 * every user of the machine can read it with ps until it is wiped, which
 * is why the service warns).
 *
 * Ownership: secret_read_file() returns a heap string the caller releases
 * with secret_free(), which wipes it first.
 *
 * Codes it returns (tree-wide, error.h): AM_EIO (cannot open or read),
 * AM_EINVAL (readable by group or others, empty, or not one line),
 * AM_ENOMEM. */
#ifndef ANOMESH_SECRET_H
#define ANOMESH_SECRET_H

#include "error.h"

#include <stddef.h>

#define SECRET_MAX 1024

/* The first line of path (without its line end) in *out. Refused when the
 * file is readable or writable by group or others (chmod 600), empty, or
 * longer than SECRET_MAX. */
int secret_read_file(const char *path, char **out, char *err, size_t errlen);

/* Wipe and free a string from secret_read_file (NULL-safe). */
void secret_free(char *s);

/* Overwrite the value of --NAME VALUE / --NAME=VALUE in argv with 'x' so
 * that ps no longer shows it. Returns 1 when argv held the option. */
int secret_scrub_argv(int argc, char **argv, const char *name);

#endif
