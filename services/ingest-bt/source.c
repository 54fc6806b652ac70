/* source — parse source options and open their byte streams (source.h).
 *
 * Every stream is opened non-blocking so that one poll() loop can serve
 * many sensors and a slow Bluetooth page or TCP connect never stalls the
 * others. Bluetooth goes straight to RFCOMM channel 1 (no SDP lookup), as
 * LP's Linux host code does; without an adapter socket() or connect() fails
 * and the caller retries with backoff. */
#include "source.h"

#include "text.h"

#include <bluetooth/bluetooth.h>
#include <bluetooth/rfcomm.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

const char *source_kind_name(enum src_kind k)
{
	switch (k) {
	case SRC_BT:
		return "bt";
	case SRC_SERIAL:
		return "serial";
	case SRC_TCP:
		return "tcp";
	case SRC_CSV:
		return "csv";
	}
	return "?";
}

const char *source_label(const src_spec *s, char *out, size_t len)
{
	switch (s->kind) {
	case SRC_TCP:
		snprintf(out, len, "tcp:%s:%d", s->path, s->port);
		break;
	case SRC_SERIAL:
		snprintf(out, len, "serial:%s@%ld", s->path, s->baud);
		break;
	case SRC_CSV:
		snprintf(out, len, "csv:%s@%g", s->path, s->speed);
		break;
	case SRC_BT:
		snprintf(out, len, "bt:%s", s->path);
		break;
	}
	return out;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int source_parse_bdaddr(const char *s, uint8_t out[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int h = hexval((unsigned char)s[3 * i]),
		    l = hexval((unsigned char)s[3 * i + 1]);
		if (h < 0 || l < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		out[i] = (uint8_t)(h * 16 + l);
	}
	return 0;
}

/* Copy a string known to fit (callers checked the length). */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int source_parse(const char *spec, int index, src_spec *out, char *err, size_t errlen)
{
	char body[SRC_PATH_MAX];
	char *hash, *at, *colon;
	const char *rest;
	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof(body)) {
		snprintf(err, errlen, "source '%.40s...' is too long", spec);
		return AM_EINVAL;
	}
	if (!strncmp(spec, "bt:", 3))
		out->kind = SRC_BT, rest = spec + 3;
	else if (!strncmp(spec, "serial:", 7))
		out->kind = SRC_SERIAL, rest = spec + 7;
	else if (!strncmp(spec, "tcp:", 4))
		out->kind = SRC_TCP, rest = spec + 4;
	else if (!strncmp(spec, "csv:", 4))
		out->kind = SRC_CSV, rest = spec + 4;
	else {
		snprintf(
		    err, errlen,
		    "source '%s': expected bt:MAC, serial:DEV[@baud], tcp:HOST:PORT or "
		    "csv:PATH[@speed], each optionally followed by #sensor",
		    spec);
		return AM_EINVAL;
	}
	copy_str(body, sizeof(body), rest);
	hash = strrchr(body, '#');
	if (hash) {
		*hash = '\0';
		if (!text_sensor_valid(hash + 1)) {
			snprintf(
			    err, errlen,
			    "source '%s': sensor id '%s' must match [A-Za-z0-9._-]{1,64}",
			    spec, hash + 1);
			return AM_EINVAL;
		}
		copy_str(out->sensor, sizeof(out->sensor), hash + 1);
	}
	switch (out->kind) {
	case SRC_BT:
		if (source_parse_bdaddr(body, out->bdaddr)) {
			snprintf(err, errlen,
				 "source '%s': '%s' is not a Bluetooth address "
				 "(AA:BB:CC:DD:EE:FF)",
				 spec, body);
			return AM_EINVAL;
		}
		copy_str(out->path, sizeof(out->path), body);
		if (!hash)
			snprintf(out->sensor, sizeof(out->sensor),
				 "lpms-%02X%02X%02X%02X%02X%02X", out->bdaddr[0],
				 out->bdaddr[1], out->bdaddr[2], out->bdaddr[3],
				 out->bdaddr[4], out->bdaddr[5]);
		return 0;
	case SRC_SERIAL:
	case SRC_CSV:
		at = strrchr(body, '@');
		if (out->kind == SRC_SERIAL)
			out->baud = SRC_DEFAULT_BAUD;
		else
			out->speed = 1.0;
		if (at) {
			*at = '\0';
			if (out->kind == SRC_SERIAL) {
				if (parse_long(at + 1, 50, 4000000, &out->baud)) {
					snprintf(err, errlen,
						 "source '%s': bad baud rate '%s'", spec,
						 at + 1);
					return AM_EINVAL;
				}
			} else {
				char *end;
				out->speed = strtod(at + 1, &end);
				if (end == at + 1 || *end ||
				    !(out->speed > 0 && out->speed <= 1000)) {
					snprintf(
					    err, errlen,
					    "source '%s': speed '%s' must be a number in "
					    "(0, 1000]",
					    spec, at + 1);
					return AM_EINVAL;
				}
			}
		}
		if (!body[0]) {
			snprintf(err, errlen, "source '%s': empty path", spec);
			return AM_EINVAL;
		}
		copy_str(out->path, sizeof(out->path), body);
		break;
	case SRC_TCP: {
		long port;
		colon = strrchr(body, ':');
		if (!colon || colon == body || parse_long(colon + 1, 1, 65535, &port)) {
			snprintf(err, errlen, "source '%s': expected tcp:HOST:PORT",
				 spec);
			return AM_EINVAL;
		}
		*colon = '\0';
		out->port = (int)port;
		copy_str(out->path, sizeof(out->path), body);
		break;
	}
	}
	if (!hash)
		snprintf(out->sensor, sizeof(out->sensor), "lpms%d", index + 1);
	return 0;
}

static speed_t baud_const(long b)
{
	switch (b) {
	case 9600:
		return B9600;
	case 19200:
		return B19200;
	case 38400:
		return B38400;
	case 57600:
		return B57600;
	case 115200:
		return B115200;
	case 230400:
		return B230400;
	case 460800:
		return B460800;
	case 921600:
		return B921600;
	default:
		return 0;
	}
}

static int open_serial(const src_spec *s, int *fd, char *err, size_t errlen)
{
	struct termios t;
	speed_t sp = baud_const(s->baud);
	int f;
	if (!sp) {
		snprintf(err, errlen, "serial %s: unsupported baud rate %ld", s->path,
			 s->baud);
		return AM_EINVAL;
	}
	f = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f < 0) {
		snprintf(err, errlen, "serial %s: %s", s->path, strerror(errno));
		return AM_EIO;
	}
	if (tcgetattr(f, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL | CREAD;
		cfsetispeed(&t, sp);
		cfsetospeed(&t, sp);
		if (tcsetattr(f, TCSANOW, &t)) {
			snprintf(err, errlen, "serial %s: cannot set raw mode: %s",
				 s->path, strerror(errno));
			close(f);
			return AM_EIO;
		}
		tcflush(f, TCIOFLUSH); /* bytes from before we took the line */
	}
	*fd = f;
	return 0;
}

static int open_tcp(const src_spec *s, int *fd, int *pending, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char port[16];
	int f, rc, one = 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", s->port);
	rc = getaddrinfo(s->path, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "tcp %s:%d: %s", s->path, s->port,
			 gai_strerror(rc));
		return AM_EIO;
	}
	f = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f < 0) {
		snprintf(err, errlen, "tcp %s:%d: socket: %s", s->path, s->port,
			 strerror(errno));
		freeaddrinfo(res);
		return AM_EIO;
	}
	setsockopt(f, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(f, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc && errno != EINPROGRESS) {
		snprintf(err, errlen, "tcp %s:%d: %s", s->path, s->port, strerror(errno));
		close(f);
		return AM_EIO;
	}
	*pending = rc != 0;
	*fd = f;
	return 0;
}

static int open_bt(const src_spec *s, int *fd, int *pending, char *err, size_t errlen)
{
	struct sockaddr_rc a;
	int f = socket(AF_BLUETOOTH, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       BTPROTO_RFCOMM);
	if (f < 0) {
		snprintf(
		    err, errlen,
		    "bt %s: cannot create an RFCOMM socket (%s): no Bluetooth support or "
		    "adapter on this host",
		    s->path, strerror(errno));
		return AM_EIO;
	}
	memset(&a, 0, sizeof(a));
	a.rc_family = AF_BLUETOOTH;
	str2ba(s->path, &a.rc_bdaddr);
	a.rc_channel = SRC_BT_CHANNEL;
	if (connect(f, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
		int e = errno;
		snprintf(err, errlen, "bt %s channel %d: %s%s", s->path, SRC_BT_CHANNEL,
			 strerror(e),
			 (e == EHOSTUNREACH || e == ENODEV || e == EHOSTDOWN)
			     ? " (no adapter up, or the sensor is off / not paired)"
			     : "");
		close(f);
		return AM_EIO;
	}
	*pending = 1;
	*fd = f;
	return 0;
}

int source_open(const src_spec *s, int *fd, int *pending, char *err, size_t errlen)
{
	*fd = -1;
	*pending = 0;
	switch (s->kind) {
	case SRC_SERIAL:
		return open_serial(s, fd, err, errlen);
	case SRC_TCP:
		return open_tcp(s, fd, pending, err, errlen);
	case SRC_BT:
		return open_bt(s, fd, pending, err, errlen);
	case SRC_CSV:
		break;
	}
	snprintf(err, errlen, "csv sources have no stream");
	return AM_EINVAL;
}

int source_finish(int fd, char *err, size_t errlen)
{
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l))
		e = errno;
	if (e) {
		snprintf(err, errlen, "connect: %s", strerror(e));
		errno = e;
		return AM_EIO;
	}
	return 0;
}
