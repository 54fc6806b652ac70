/* config — every service's options, from one table, with one precedence:
 *
 *     defaults  <  config file  <  ANOMESH_* environment  <  command line
 *
 * An option named "metrics-interval" is --metrics-interval on the command
 * line, ANOMESH_METRICS_INTERVAL in the environment and `metrics-interval =
 * 10000` in the file (given by --config PATH or ANOMESH_CONFIG; lines
 * "key = value", '#' comments, blank lines ignored, unknown keys refused).
 * Numbers are parsed with strtol/strtod and range-checked; booleans take
 * 1/0/true/false/yes/no/on/off. A LIST option may repeat on the command line
 * (each occurrence appends); in the environment and file it is
 * comma-separated (blanks around an item are dropped, empty items skipped).
 * Positional arguments are refused unless the table has an option with
 * positional=1 (a LIST that collects them).
 *
 * --help prints every option with its environment name and default;
 * config_load() then returns CONFIG_HELP and the service exits 0.
 *
 * Ownership: string and list values are heap copies owned by the config;
 * config_cleanup() frees them (NULL-safe, idempotent). The dest pointers in
 * the table are filled by config_load and remain valid until cleanup. */
#ifndef ANOMESH_CONFIG_H
#define ANOMESH_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum config_type {
	CONFIG_STR,  /* dest: char ** */
	CONFIG_INT,  /* dest: long * */
	CONFIG_DBL,  /* dest: double * */
	CONFIG_BOOL, /* dest: int * ; flag form --name sets 1, --no-name sets 0 */
	CONFIG_LIST, /* dest: config_list * */
};

typedef struct config_list {
	char **items;
	size_t n;
} config_list;

typedef struct config_opt {
	const char *name; /* long option name, [a-z0-9-]+ */
	enum config_type type;
	void *dest;
	const char *def;  /* default as text; NULL: none (STR -> NULL) */
	double min, max;  /* numeric range, inclusive; ignored if min > max */
	const char *help; /* one line */
	int positional;   /* LIST only: collects positional arguments */
	int secret;       /* do not print value in config_dump */
} config_opt;

#define CONFIG_OK 0
#define CONFIG_HELP 1 /* --help was printed; exit 0 */
/* Codes it returns (tree-wide, error.h):
 *   AM_EUSAGE  bad flag, value or file: err says which
 *   AM_ENOMEM
 */
#include "error.h"

typedef struct config {
	const config_opt *opts;
	size_t n;
	const char *prog;
	char **owned; /* heap strings to free */
	size_t n_owned, owned_cap;
} config;

/* Load opts (n entries) from defaults, file, environment and argv.
 * summary: the first lines of --help. Returns CONFIG_OK, CONFIG_HELP or a
 * negative code with a message in err (e.g. "--port: 70000 is above 65535"). */
int config_load(config *cfg, const config_opt *opts, size_t n, int argc, char **argv,
		const char *prog, const char *summary, char *err, size_t errlen);
void config_cleanup(config *cfg);

/* Print the effective configuration to f, one "name = value" line each,
 * secrets masked: a config file that loads to the same values (numbers
 * printed exactly, with the fewest digits that read back the same). */
void config_dump(const config *cfg, FILE *f);

#endif
