/* fsubject — the fleet's subject names, built and parsed in one place so
 * that the cluster's mapping (fleet/nats-node.conf.in), the consumers and
 * the archive's file layout cannot drift apart. The layout of a stored
 * subject is fixed by NATS 2.9 (the "$MQTT.msgs." prefix) and by our
 * mapping; both are pinned by tests/unit/test_fleet_subject.c and, against
 * a real server, by tests/integration/test_fleet.c. */
#include "fsubject.h"

#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fsubject_id_valid(const char *s)
{
	size_t i;
	if (!s)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (i >= FSUBJECT_ID_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

/* Copy the token starting at *p (up to '.' or the end) into out (cap
 * bytes with the NUL); advance *p past it and its dot. 0, or -1 when empty
 * or too long. */
static int take_token(const char **p, char *out, size_t cap)
{
	const char *dot = strchr(*p, '.');
	size_t n = dot ? (size_t)(dot - *p) : strlen(*p);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n + (dot ? 1 : 0);
	return dot ? 1 : 0;
}

int fsubject_parse(const char *subject, fsubject *out, char *err, size_t errlen)
{
	const char *p = subject;
	char part[8];
	int more;
	if (!subject)
		return am_fail(err, errlen, AM_EFORMAT, "no subject");
	memset(out, 0, sizeof(*out));
	if (!strncmp(p, FSUBJECT_STORED, strlen(FSUBJECT_STORED)))
		p += strlen(FSUBJECT_STORED);
	if (strncmp(p, FSUBJECT_RAW ".", strlen(FSUBJECT_RAW) + 1))
		return am_fail(err, errlen, AM_EFORMAT, "'%.80s' is not under %s.",
			       subject, FSUBJECT_RAW);
	p += strlen(FSUBJECT_RAW) + 1;
	if (take_token(&p, part, sizeof(part)) != 1 || part[0] < '0' || part[0] > '9' ||
	    sscanf(part, "%d", &out->partition) != 1 || out->partition < 0 ||
	    out->partition >= FSUBJECT_PARTITIONS_MAX)
		return am_fail(err, errlen, AM_EFORMAT, "'%.80s': bad partition",
			       subject);
	if (take_token(&p, out->plant, sizeof(out->plant)) != 1 ||
	    !fsubject_id_valid(out->plant) ||
	    take_token(&p, out->gateway, sizeof(out->gateway)) != 1 ||
	    !fsubject_id_valid(out->gateway))
		return am_fail(err, errlen, AM_EFORMAT, "'%.80s': bad plant or gateway",
			       subject);
	more = take_token(&p, out->sensor, sizeof(out->sensor));
	if (more != 0 || !text_sensor_valid(out->sensor))
		return am_fail(err, errlen, AM_EFORMAT, "'%.80s': bad sensor", subject);
	return 0;
}

int fsubject_filter(int p, char *out, size_t len)
{
	int n;
	if (p < 0 || p >= FSUBJECT_PARTITIONS_MAX)
		return AM_EINVAL;
	n = snprintf(out, len, FSUBJECT_STORED FSUBJECT_RAW ".%d.>", p);
	return n < 0 || (size_t)n >= len ? AM_ETOOBIG : 0;
}

int fsubject_durable(const char *prefix, int p, char *out, size_t len)
{
	int n;
	if (p < 0 || p >= FSUBJECT_PARTITIONS_MAX || !fsubject_id_valid(prefix))
		return AM_EINVAL;
	n = snprintf(out, len, "%s-p%d", prefix, p);
	return n < 0 || (size_t)n >= len ? AM_ETOOBIG : 0;
}

int fsubject_db_path(const char *dir, const fsubject *s, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s/p%02d.db", dir, s->plant, s->gateway,
			 s->partition);
	return n < 0 || (size_t)n >= len ? AM_ETOOBIG : 0;
}

int fsubject_partitions_parse(const char *spec, int count, int *out, size_t *n, char *err,
			      size_t errlen)
{
	char seen[FSUBJECT_PARTITIONS_MAX] = {0};
	const char *p = spec;
	*n = 0;
	if (count < 1 || count > FSUBJECT_PARTITIONS_MAX)
		return am_fail(err, errlen, AM_EINVAL, "partition count %d: 1 to %d",
			       count, FSUBJECT_PARTITIONS_MAX);
	if (!spec || !strcmp(spec, "all")) {
		for (int i = 0; i < count; i++)
			out[(*n)++] = i;
		return 0;
	}
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p || a < 0)
			return am_fail(err, errlen, AM_EINVAL,
				       "partitions '%s': a number expected", spec);
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return am_fail(err, errlen, AM_EINVAL,
					       "partitions '%s': bad range", spec);
		}
		if (b >= count)
			return am_fail(err, errlen, AM_EINVAL,
				       "partitions '%s': %ld is not below the count %d",
				       spec, b, count);
		for (long i = a; i <= b; i++) {
			if (seen[i]++)
				return am_fail(err, errlen, AM_EINVAL,
					       "partitions '%s': %ld given twice", spec,
					       i);
			out[(*n)++] = (int)i;
		}
		if (*end == ',')
			end++;
		else if (*end)
			return am_fail(err, errlen, AM_EINVAL,
				       "partitions '%s': bad character", spec);
		p = end;
	}
	if (!*n)
		return am_fail(err, errlen, AM_EINVAL, "no partitions");
	return 0;
}
