/* libFuzzer target for the config reader (common/config.h): the
 * `name = value` file, and the same values from ANOMESH_* variables and
 * flags, all through config_load() as a service calls it, with an option
 * table holding every option type.
 *
 * Input: one mode byte, then the rest. Even mode: the rest is the config
 * file. Odd mode: the rest split at NUL bytes; the first piece is the file,
 * each later "ANOMESH_NAME=value" piece is set in the environment and every
 * other piece is a command-line argument (pieces starting "--config" are
 * dropped: they would name other files to read). The file is written to a
 * private temporary directory, as config_load only reads files.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  - a refusal returns a code config.h lists and says why;
 *  - a loaded config holds every number inside its range, finite, booleans
 *    0/1, list items from the file and environment non-empty and without
 *    commas;
 *  - file mode: what config_dump() prints is itself a config file that
 *    loads to the same numbers and the same dump (unless a printed line is
 *    over the reader's line cap): the dump is the effective configuration.
 * Run with `make fuzz` (tests/fuzz/run.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINE_MAX 4094 /* longest line config.c reads (CONFIG_LINE_MAX - 2) */
#define FUZZ_MAX_ARGS 64
#define FUZZ_MAX_ENV 16

static char *f_broker, *f_password;
static long f_port, f_interval, f_seed;
static double f_threshold, f_gain;
static int f_tls;
static config_list f_sensors, f_inputs;

/* Ranges are numbers %g prints exactly, so that a dumped value stays in. */
static const config_opt fuzz_opts[] = {
    {"broker", CONFIG_STR, &f_broker, "127.0.0.1", 0, -1, "host", 0, 0},
    {"port", CONFIG_INT, &f_port, "1883", 1, 65535, "port", 0, 0},
    {"metrics-interval", CONFIG_INT, &f_interval, "10000", 0, 3600000, "ms", 0, 0},
    {"seed", CONFIG_INT, &f_seed, NULL, 0, -1, "unranged", 0, 0},
    {"threshold", CONFIG_DBL, &f_threshold, NULL, 0, 1000, "ranged", 0, 0},
    {"gain", CONFIG_DBL, &f_gain, "1.5", 0, -1, "unranged", 0, 0},
    {"tls", CONFIG_BOOL, &f_tls, "no", 0, -1, "flag", 0, 0},
    {"sensors", CONFIG_LIST, &f_sensors, "arm1,arm2", 0, -1, "list", 0, 0},
    {"password", CONFIG_STR, &f_password, NULL, 0, -1, "secret", 0, 1},
    {"inputs", CONFIG_LIST, &f_inputs, NULL, 0, -1, "positional", 1, 0},
};
#define FUZZ_NOPTS (sizeof fuzz_opts / sizeof fuzz_opts[0])

static char fuzz_dir[256], fuzz_path[272];

static void fuzz_fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_config: %s (%s)\n", what, err ? err : "");
	abort();
}

static void fuzz_cleanup_dir(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* tmpfs where there is one: a file on disk costs several times the
	 * parsing (block I/O on every write). */
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	(void)argc;
	(void)argv;
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fuzz_config.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir))
		fuzz_fail("mkdtemp", fuzz_dir);
	snprintf(fuzz_path, sizeof fuzz_path, "%s/config", fuzz_dir);
	atexit(fuzz_cleanup_dir);
	unsetenv("ANOMESH_CONFIG");
	for (size_t i = 0; i < FUZZ_NOPTS; i++) {
		char env[64], *p;
		snprintf(env, sizeof env, "ANOMESH_%s", fuzz_opts[i].name);
		for (p = env; *p; p++)
			*p = *p == '-' ? '_'
				       : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		unsetenv(env);
	}
	if (!freopen("/dev/null", "w", stdout)) /* --help prints there */
		fuzz_fail("freopen", "/dev/null");
	return 0;
}

static void fuzz_write(const char *p, size_t n)
{
	FILE *f = fopen(fuzz_path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		fuzz_fail("cannot write the config file", fuzz_path);
}

/* The dest variables as a service has them before loading (config_load
 * leaves numbers without a default alone). */
static void fuzz_reset(void)
{
	f_broker = f_password = NULL;
	f_port = f_interval = f_seed = 0;
	f_threshold = f_gain = 0;
	f_tls = 0;
	memset(&f_sensors, 0, sizeof f_sensors);
	memset(&f_inputs, 0, sizeof f_inputs);
}

static int fuzz_load(config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int rc;
	fuzz_reset();
	err[0] = '\0';
	rc = config_load(cfg, fuzz_opts, FUZZ_NOPTS, argc, argv, "fuzz", "fuzz_config",
			 err, errlen);
	if (rc < 0 && rc != AM_EUSAGE && rc != AM_ENOMEM)
		fuzz_fail("refused with a code config.h does not list", am_strerror(rc));
	if (rc < 0 && !err[0])
		fuzz_fail("refused without a reason", NULL);
	return rc;
}

static void fuzz_check_list(const config_list *l, int split)
{
	if (l->n && !l->items)
		fuzz_fail("a list has items but no array", NULL);
	for (size_t i = 0; i < l->n; i++) {
		if (!l->items[i])
			fuzz_fail("a list item is NULL", NULL);
		if (split && (!l->items[i][0] || strchr(l->items[i], ',')))
			fuzz_fail("a comma-separated list kept an empty item or a comma",
				  l->items[i]);
	}
}

/* Values as the table allows them; split: lists came from file/env only. */
static void fuzz_check_values(int split)
{
	if (!f_broker)
		fuzz_fail("a string with a default is NULL", NULL);
	if (f_port < 1 || f_port > 65535 || f_interval < 0 || f_interval > 3600000)
		fuzz_fail("an integer outside its range", NULL);
	if (!isfinite(f_threshold) || f_threshold < 0 || f_threshold > 1000 ||
	    !isfinite(f_gain))
		fuzz_fail("a double not finite or outside its range", NULL);
	if (f_tls != 0 && f_tls != 1)
		fuzz_fail("a boolean neither 0 nor 1", NULL);
	fuzz_check_list(&f_sensors, split);
	fuzz_check_list(&f_inputs, split);
}

/* The numbers as loaded, to compare a reload with. */
typedef struct fuzz_numbers {
	long port, interval, seed;
	double threshold, gain;
	int tls;
} fuzz_numbers;

static fuzz_numbers fuzz_numbers_now(void)
{
	return (fuzz_numbers){f_port, f_interval, f_seed, f_threshold, f_gain, f_tls};
}

static int fuzz_numbers_same(const fuzz_numbers *a, const fuzz_numbers *b)
{
	return a->port == b->port && a->interval == b->interval && a->seed == b->seed &&
	       a->threshold == b->threshold && a->gain == b->gain && a->tls == b->tls;
}

/* config_dump into a malloc'd string; *longest gets its longest line. */
static char *fuzz_dump(const config *cfg, size_t *len, size_t *longest)
{
	char *s = NULL;
	size_t run = 0;
	FILE *f = open_memstream(&s, len);
	if (!f)
		fuzz_fail("open_memstream", NULL);
	config_dump(cfg, f);
	if (fclose(f) != 0)
		fuzz_fail("open_memstream", NULL);
	*longest = 0;
	for (size_t i = 0; i < *len; i++) {
		run = s[i] == '\n' ? 0 : run + 1;
		if (run > *longest)
			*longest = run;
	}
	return s;
}

static void fuzz_file_mode(const char *p, size_t n)
{
	char *argv[] = {"fuzz", "--config", fuzz_path, NULL};
	char err[256];
	config cfg;
	char *d1, *d2;
	size_t n1, n2, longest;
	fuzz_numbers v1, v2;

	fuzz_write(p, n);
	if (fuzz_load(&cfg, 3, argv, err, sizeof err) != CONFIG_OK)
		return;
	fuzz_check_values(1);
	v1 = fuzz_numbers_now();
	d1 = fuzz_dump(&cfg, &n1, &longest);
	config_cleanup(&cfg);
	if (longest <= FUZZ_LINE_MAX) {
		fuzz_write(d1, n1);
		if (fuzz_load(&cfg, 3, argv, err, sizeof err) != CONFIG_OK)
			fuzz_fail("config_dump's output does not load", err);
		v2 = fuzz_numbers_now();
		d2 = fuzz_dump(&cfg, &n2, &longest);
		config_cleanup(&cfg);
		if (!fuzz_numbers_same(&v1, &v2))
			fuzz_fail("config_dump's output loads to other numbers", d1);
		if (n1 != n2 || memcmp(d1, d2, n1) != 0)
			fuzz_fail("config_dump's output loads to another config", d1);
		free(d2);
	}
	free(d1);
}

static void fuzz_args_mode(const char *p, size_t n)
{
	char *copy = malloc(n + 1), *piece, *end;
	char *argv[FUZZ_MAX_ARGS + 4], *env[FUZZ_MAX_ENV];
	int argc = 0, nenv = 0;
	char err[256];
	config cfg;

	if (!copy)
		return;
	memcpy(copy, p, n);
	copy[n] = '\0';
	end = copy + n;
	fuzz_write(copy, strlen(copy));
	argv[argc++] = "fuzz";
	argv[argc++] = "--config";
	argv[argc++] = fuzz_path;
	for (piece = copy + strlen(copy) + 1; piece < end; piece += strlen(piece) + 1) {
		char *eq = strchr(piece, '=');
		if (strncmp(piece, "--config", 8) == 0)
			continue;
		if (strncmp(piece, "ANOMESH_", 8) == 0 && eq) {
			*eq = '\0';
			if (nenv < FUZZ_MAX_ENV && strcmp(piece, "ANOMESH_CONFIG") != 0 &&
			    setenv(piece, eq + 1, 1) == 0)
				env[nenv++] = piece;
			continue;
		}
		if (argc < FUZZ_MAX_ARGS)
			argv[argc++] = piece;
	}
	argv[argc] = NULL;
	if (fuzz_load(&cfg, argc, argv, err, sizeof err) == CONFIG_OK) {
		fuzz_check_values(0);
		config_cleanup(&cfg);
	}
	for (int i = 0; i < nenv; i++)
		unsetenv(env[i]);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_args_mode((const char *)data + 1, size - 1);
	else
		fuzz_file_mode((const char *)data + 1, size - 1);
	return 0;
}
