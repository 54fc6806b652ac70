/* config — one option table, four layers applied in order of precedence:
 * defaults, then the file, then ANOMESH_* variables, then argv. Each layer
 * just calls config__set() for the options it carries, so the precedence is
 * nothing more than the order of the calls, and every value goes through
 * the same parsing and range checks whatever its origin. A LIST collects
 * values within a layer; a later layer that names the list replaces it. */
#include "config.h"

#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096

static char *config__own(config *cfg, const char *s, size_t len)
{
	char *p;
	if (cfg->n_owned == cfg->owned_cap) {
		size_t cap = cfg->owned_cap ? cfg->owned_cap * 2 : 32;
		char **o = realloc(cfg->owned, cap * sizeof(*o));
		if (!o)
			return NULL;
		cfg->owned = o;
		cfg->owned_cap = cap;
	}
	p = malloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	cfg->owned[cfg->n_owned++] = p;
	return p;
}

static const config_opt *config__find(const config *cfg, const char *name, size_t len)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const char *n = cfg->opts[i].name;
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return &cfg->opts[i];
	}
	return NULL;
}

static int config__bool(const char *v, int *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int config__range(const config_opt *o, double v, char *err, size_t errlen)
{
	if (o->min > o->max)
		return 0;
	if (v < o->min) {
		am_errf(err, errlen, "--%s: %g is below the minimum %g", o->name, v,
			o->min);
		return AM_EUSAGE;
	}
	if (v > o->max) {
		am_errf(err, errlen, "--%s: %g is above the maximum %g", o->name, v,
			o->max);
		return AM_EUSAGE;
	}
	return 0;
}

/* Append one item to a list, growing its array (owned by the config). */
static int config__list_add(config *cfg, config_list *l, const char *v, size_t len)
{
	char **items = realloc(l->items, (l->n + 1) * sizeof(*items));
	if (!items)
		return AM_ENOMEM;
	l->items = items;
	items[l->n] = config__own(cfg, v, len);
	if (!items[l->n])
		return AM_ENOMEM;
	l->n++;
	return 0;
}

/* Set option o from text v. split: LIST values are comma-separated (file and
 * environment); replace: clear the list first (first use in this layer). */
static int config__set(config *cfg, const config_opt *o, const char *v, int split,
		       int replace, char *err, size_t errlen)
{
	char *end;
	switch (o->type) {
	case CONFIG_STR: {
		char *s = config__own(cfg, v, strlen(v));
		if (!s)
			return AM_ENOMEM;
		*(char **)o->dest = s;
		return 0;
	}
	case CONFIG_INT: {
		long n;
		errno = 0;
		n = strtol(v, &end, 0);
		if (errno || end == v || *end) {
			am_errf(err, errlen, "--%s: '%s' is not an integer", o->name, v);
			return AM_EUSAGE;
		}
		if (config__range(o, (double)n, err, errlen))
			return AM_EUSAGE;
		*(long *)o->dest = n;
		return 0;
	}
	case CONFIG_DBL: {
		double d;
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(d)) {
			am_errf(err, errlen, "--%s: '%s' is not a finite number", o->name,
				v);
			return AM_EUSAGE;
		}
		if (config__range(o, d, err, errlen))
			return AM_EUSAGE;
		*(double *)o->dest = d;
		return 0;
	}
	case CONFIG_BOOL:
		if (config__bool(v, (int *)o->dest)) {
			am_errf(err, errlen, "--%s: '%s' is not a boolean (yes/no, 1/0)",
				o->name, v);
			return AM_EUSAGE;
		}
		return 0;
	case CONFIG_LIST: {
		config_list *l = o->dest;
		if (replace) {
			free(l->items);
			l->items = NULL;
			l->n = 0;
		}
		if (!split)
			return config__list_add(cfg, l, v, strlen(v));
		while (*v) {
			const char *comma = strchr(v, ',');
			size_t len = comma ? (size_t)(comma - v) : strlen(v);
			const char *s = v, *e = v + len;
			/* as a file value is trimmed: else an item's blanks would
			 * depend on whether it ends the line */
			while (s < e && isspace((unsigned char)*s))
				s++;
			while (e > s && isspace((unsigned char)e[-1]))
				e--;
			if (e > s && config__list_add(cfg, l, s, (size_t)(e - s)))
				return AM_ENOMEM;
			v += len + (comma ? 1 : 0);
		}
		return 0;
	}
	}
	return AM_EUSAGE;
}

static char *config__trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int config__file(config *cfg, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX];
	int rc = 0;
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		am_errf(err, errlen, "config file %s: %s", path, strerror(errno));
		return AM_EUSAGE;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;
		const config_opt *o;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			am_errf(err, errlen, "%s:%u: line longer than %d bytes", path,
				lineno, CONFIG_LINE_MAX - 2);
			rc = AM_EUSAGE;
			break;
		}
		key = config__trim(line);
		if (*key == '#' || *key == '\0')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			am_errf(err, errlen, "%s:%u: expected 'name = value'", path,
				lineno);
			rc = AM_EUSAGE;
			break;
		}
		*eq = '\0';
		key = config__trim(key);
		val = config__trim(eq + 1);
		o = config__find(cfg, key, strlen(key));
		if (!o || strcmp(key, "config") == 0) {
			am_errf(err, errlen, "%s:%u: unknown option '%s'", path, lineno,
				key);
			rc = AM_EUSAGE;
			break;
		}
		rc = config__set(cfg, o, val, 1, 1, err, errlen);
		if (rc == AM_EUSAGE) {
			size_t l = strlen(err);
			if (l + 32 < errlen)
				snprintf(err + l, errlen - l, " (%s:%u)", path, lineno);
		}
	}
	fclose(f);
	return rc;
}

static void config__env_name(const char *name, char *out, size_t len)
{
	size_t i = 0;
	int n = snprintf(out, len, "ANOMESH_");
	for (i = (size_t)n; *name && i + 1 < len; name++, i++)
		out[i] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	out[i] = '\0';
}

static const char *config__type_hint(const config_opt *o)
{
	switch (o->type) {
	case CONFIG_INT:
		return "N";
	case CONFIG_DBL:
		return "X";
	case CONFIG_BOOL:
		return "";
	case CONFIG_LIST:
		return "V...";
	case CONFIG_STR:
		break;
	}
	return "S";
}

static void config__help(const config *cfg, const char *summary)
{
	char env[96];
	printf(
	    "%s\n\nOptions (precedence: defaults < --config file < ANOMESH_* environment "
	    "< flags):\n",
	    summary);
	for (size_t i = 0; i < cfg->n; i++) {
		const config_opt *o = &cfg->opts[i];
		char flag[80];
		config__env_name(o->name, env, sizeof(env));
		snprintf(flag, sizeof(flag), "--%s %s", o->name, config__type_hint(o));
		printf("  %-28s %s\n", flag, o->help ? o->help : "");
		printf("  %-28s [env %s%s%s]\n", "", env, o->def ? ", default " : "",
		       o->def ? o->def : "");
	}
	printf("  %-28s %s\n", "--config FILE",
	       "read 'name = value' lines [env ANOMESH_CONFIG]");
	printf("  %-28s %s\n", "--help", "print this and exit");
}

/* Split "--name=value" / "--name value" / "--no-name"; returns the option. */
static const config_opt *config__flag(const config *cfg, const char *arg,
				      const char **val, int *negated)
{
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const config_opt *o = config__find(cfg, name, len);
	*negated = 0;
	*val = eq ? eq + 1 : NULL;
	if (!o && len > 3 && strncmp(name, "no-", 3) == 0) {
		o = config__find(cfg, name + 3, len - 3);
		if (o && o->type == CONFIG_BOOL && !eq)
			*negated = 1;
		else
			o = NULL;
	}
	return o;
}

int config_load(config *cfg, const config_opt *opts, size_t n, int argc, char **argv,
		const char *prog, const char *summary, char *err, size_t errlen)
{
	const char *file = getenv("ANOMESH_CONFIG");
	char env[96];
	int rc = 0;
	unsigned char seen[256] = {0};

	memset(cfg, 0, sizeof(*cfg));
	cfg->opts = opts;
	cfg->n = n;
	cfg->prog = prog;
	if (n > sizeof(seen)) {
		am_errf(err, errlen, "too many options");
		return AM_EUSAGE;
	}

	/* --help wins over everything, even invalid values elsewhere. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			config__help(cfg, summary);
			return CONFIG_HELP;
		}
		if (strcmp(argv[i], "--") == 0)
			break;
	}
	/* 1. defaults */
	for (size_t i = 0; i < n; i++) {
		const config_opt *o = &opts[i];
		if (o->type == CONFIG_LIST) {
			config_list *l = o->dest;
			l->items = NULL;
			l->n = 0;
		} else if (o->type == CONFIG_STR) {
			*(char **)o->dest = NULL;
		}
		if (o->def && (rc = config__set(cfg, o, o->def, 1, 1, err, errlen)))
			goto fail;
	}
	/* 2. file: --config from argv wins over ANOMESH_CONFIG */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file && (rc = config__file(cfg, file, err, errlen)))
		goto fail;
	/* 3. environment */
	for (size_t i = 0; i < n; i++) {
		const char *v;
		config__env_name(opts[i].name, env, sizeof(env));
		v = getenv(env);
		if (v && (rc = config__set(cfg, &opts[i], v, 1, 1, err, errlen))) {
			size_t l = strlen(err);
			if (l + 32 < errlen)
				snprintf(err + l, errlen - l, " (from %s)", env);
			goto fail;
		}
	}
	/* 4. flags; after "--" everything is positional */
	for (int i = 1, only_pos = 0; i < argc; i++) {
		const char *a = argv[i], *val = a;
		const config_opt *o = NULL;
		int negated;

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (!only_pos && strncmp(a, "--config=", 9) == 0)
			continue;
		if (!only_pos && strncmp(a, "--", 2) == 0) {
			o = config__flag(cfg, a, &val, &negated);
			if (!o) {
				am_errf(err, errlen, "unknown option '%s' (see --help)",
					a);
				rc = AM_EUSAGE;
				goto fail;
			}
			if (o->type == CONFIG_BOOL && !val)
				val = negated ? "0" : "1";
			if (!val) {
				if (i + 1 >= argc) {
					am_errf(err, errlen, "--%s needs a value",
						o->name);
					rc = AM_EUSAGE;
					goto fail;
				}
				val = argv[++i];
			}
		} else {
			for (size_t k = 0; k < n; k++)
				if (opts[k].positional)
					o = &opts[k];
			if (!o) {
				am_errf(err, errlen,
					"unexpected argument '%s' (see --help)", a);
				rc = AM_EUSAGE;
				goto fail;
			}
		}
		if ((rc = config__set(cfg, o, val, 0, !seen[o - opts], err, errlen)))
			goto fail;
		seen[o - opts] = 1;
	}
	return CONFIG_OK;
fail:
	config_cleanup(cfg);
	cfg->opts = opts;
	cfg->n = n;
	return rc;
}

void config_cleanup(config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->opts && i < cfg->n; i++) {
		const config_opt *o = &cfg->opts[i];
		if (o->type == CONFIG_LIST) {
			config_list *l = o->dest;
			free(l->items);
			l->items = NULL;
			l->n = 0;
		} else if (o->type == CONFIG_STR) {
			*(char **)o->dest = NULL;
		}
	}
	for (size_t i = 0; i < cfg->n_owned; i++)
		free(cfg->owned[i]);
	free(cfg->owned);
	cfg->owned = NULL;
	cfg->n_owned = 0;
	cfg->owned_cap = 0;
	cfg->opts = NULL;
	cfg->n = 0;
}

void config_dump(const config *cfg, FILE *f)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const config_opt *o = &cfg->opts[i];
		fprintf(f, "%s = ", o->name);
		if (o->secret) {
			fputs("***\n", f);
			continue;
		}
		switch (o->type) {
		case CONFIG_STR: {
			const char *s = *(char *const *)o->dest;
			fprintf(f, "%s\n", s ? s : "");
			break;
		}
		case CONFIG_INT:
			fprintf(f, "%ld\n", *(const long *)o->dest);
			break;
		case CONFIG_DBL: {
			/* the shortest text that reads back to the value: %g's six
			 * digits would show another number, and near DBL_MIN one
			 * the reader refuses */
			double v = *(const double *)o->dest;
			buf b;
			buf_init(&b, 64);
			if (buf_add_json_num(&b, v) == 0)
				fprintf(f, "%s\n", b.data);
			else
				fprintf(f, "%g\n", v);
			buf_cleanup(&b);
			break;
		}
		case CONFIG_BOOL:
			fprintf(f, "%s\n", *(const int *)o->dest ? "true" : "false");
			break;
		case CONFIG_LIST: {
			const config_list *l = o->dest;
			for (size_t k = 0; k < l->n; k++)
				fprintf(f, "%s%s", k ? "," : "", l->items[k]);
			fputc('\n', f);
			break;
		}
		}
	}
}
