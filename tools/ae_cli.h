/* ae_cli — option helpers shared by the model tools (ae-train, ae-eval,
 * ae-bench): comma/repeat lists of channel names and layer sizes, and the
 * training options every tool exposes the same way.
 *
 * Ownership: ae_cli_names copies names into the caller's array; nothing
 * here allocates. */
#ifndef ANOMESH_AE_CLI_H
#define ANOMESH_AE_CLI_H

#include <stddef.h>

#include "ae.h"
#include "config.h"

/* Names from a LIST option whose items may themselves hold commas
 * ("a,b" "c" -> a b c). Returns 0, or -1 with err (empty, too many, too
 * long). */
int ae_cli_names(const config_list *l, char out[][AE_NAME_MAX], size_t max, size_t *n,
		 char *err, size_t errlen);

/* Positive integers (layer sizes) from a LIST option, same splitting. */
int ae_cli_sizes(const config_list *l, size_t *out, size_t max, size_t *n, char *err,
		 size_t errlen);

#endif
