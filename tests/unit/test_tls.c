/* Unit tests for common/tls: URIs split, TLS options checked before any
 * connection, the probe's refusal of a closed port and of a port that
 * speaks no TLS. The probe's verdicts on real certificates (unknown CA, name
 * mismatch, expired) are shown against a real broker by
 * tests/scripts/test_broker_tls.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_uri_parse(void **state)
{
	char h[64];
	int port = 0, sec = -1;
	(void)state;
	assert_int_equal(tls_uri_parse("ssl://broker:8883", h, sizeof(h), &port, &sec),
			 0);
	assert_string_equal(h, "broker");
	assert_int_equal(port, 8883);
	assert_int_equal(sec, 1);
	assert_int_equal(tls_uri_parse("mqtts://10.0.0.7", h, sizeof(h), &port, &sec), 0);
	assert_string_equal(h, "10.0.0.7");
	assert_int_equal(port, 8883);
	assert_int_equal(tls_uri_parse("tcp://127.0.0.1:1883", h, sizeof(h), &port, &sec),
			 0);
	assert_int_equal(sec, 0);
	assert_int_equal(port, 1883);
	assert_int_equal(tls_uri_parse("ssl://[::1]:9000", h, sizeof(h), &port, &sec), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(port, 9000);
	assert_int_equal(tls_uri_parse("wss://gw/mqtt", h, sizeof(h), &port, &sec), 0);
	assert_string_equal(h, "gw");
	assert_int_equal(port, 443);
	/* refused: unknown scheme, no host, bad port, host too long */
	assert_int_equal(tls_uri_parse("http://x:1", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(tls_uri_parse("ssl://:8883", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(tls_uri_parse("ssl://x:0", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(tls_uri_parse("ssl://x:70000", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(tls_uri_parse("ssl://x:12ab", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(tls_uri_parse("ssl://[::1:1", h, sizeof(h), &port, &sec),
			 AM_EINVAL);
	assert_int_equal(
	    tls_uri_parse("ssl://averyveryverylonghostname", h, 8, &port, &sec),
	    AM_EINVAL);
}

static void test_options_check(void **state)
{
	char err[256];
	tls_options o = {0};
	(void)state;
	assert_int_equal(tls_options_check(&o, err, sizeof(err)), 0);
	o.cafile = "/nonexistent/ca.crt";
	assert_int_equal(tls_options_check(&o, err, sizeof(err)), AM_EINVAL);
	assert_non_null(strstr(err, "--cafile /nonexistent/ca.crt"));
	assert_non_null(strstr(err, "No such file"));
	o.cafile = NULL;
	o.keyfile = "/etc/hostname";
	assert_int_equal(tls_options_check(&o, err, sizeof(err)), AM_EINVAL);
	assert_non_null(strstr(err, "without --certfile"));
}

/* A port that refuses: the probe says so, as a connection problem (AM_EIO),
 * not a TLS one. */
static void test_probe_refused(void **state)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char err[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd); /* bound, never listening, now closed: refused */
	assert_int_equal(tls_probe(NULL, "127.0.0.1", port, 1000, err, sizeof(err)),
			 AM_EIO);
	assert_non_null(strstr(err, "refused"));
}

/* A port that accepts and speaks no TLS (closes at once). */
static void test_probe_no_tls(void **state)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char err[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port, rc;
	pid_t pid;
	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);
		static const char junk[] = "this is not TLS\r\n\r\n";
		if (c >= 0 && write(c, junk, sizeof(junk)) > 0)
			close(c);
		_exit(0);
	}
	close(fd);
	rc = tls_probe(NULL, "127.0.0.1", port, 2000, err, sizeof(err));
	assert_int_equal(rc, AM_ETLS);
	assert_non_null(strstr(err, "127.0.0.1 port"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uri_parse),
	    cmocka_unit_test(test_options_check),
	    cmocka_unit_test(test_probe_refused),
	    cmocka_unit_test(test_probe_no_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
