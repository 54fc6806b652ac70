/* Unit tests for common/svc: shared options and their precedence, --help,
 * usage errors and exit codes, ANOMESH_PORT moving the default broker, and
 * a service starting while its broker is down (the client connects in the
 * background, so svc_init succeeds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long t_window;

static const config_opt t_opts[] = {
    {"window", CONFIG_INT, &t_window, "200", 1, 10000, "samples per window", 0, 0},
};

/* mode 0: own MQTT client; 1: no MQTT at all (tools); 2: MQTT options but
 * the client is made by the service (defer_mqtt). */
static svc_params params(int mode)
{
	svc_params p;
	memset(&p, 0, sizeof(p));
	p.name = "svc-test";
	p.summary = "svc-test: a test service";
	p.opts = t_opts;
	p.n_opts = 1;
	p.no_mqtt = mode == 1;
	p.defer_mqtt = mode == 2;
	return p;
}

static int setup(void **state)
{
	(void)state;
	unsetenv("ANOMESH_PORT");
	unsetenv("ANOMESH_ROOT");
	unsetenv("ANOMESH_BROKER");
	unsetenv("ANOMESH_CONFIG");
	return 0;
}

static void test_defaults_and_own_options(void **state)
{
	svc s;
	svc_params p = params(2);
	char *argv[] = {"svc-test", "--window", "50", NULL};
	(void)state;
	assert_int_equal(svc_init(&s, &p, 3, argv), 0);
	assert_string_equal(s.broker, "tcp://127.0.0.1:1883");
	assert_string_equal(s.root, "factory");
	assert_int_equal(s.metrics_interval_ms, 10000);
	assert_int_equal(s.offline_buffer, 10000);
	assert_int_equal(t_window, 50);
	assert_non_null(s.metrics);
	assert_null(s.mqtt);
	svc_cleanup(&s);
	svc_cleanup(&s); /* idempotent */
}

static void test_port_and_env(void **state)
{
	svc s;
	svc_params p = params(2);
	char *argv[] = {"svc-test", "--root", "plant7", NULL};
	(void)state;
	setenv("ANOMESH_PORT", "18831", 1);
	setenv("ANOMESH_ROOT", "fromenv", 1);
	assert_int_equal(svc_init(&s, &p, 1, argv), 0);
	assert_string_equal(s.broker, "tcp://127.0.0.1:18831");
	assert_string_equal(s.root, "fromenv");
	svc_cleanup(&s);
	assert_int_equal(svc_init(&s, &p, 3, argv), 0);
	assert_string_equal(s.root, "plant7"); /* flag over environment */
	svc_cleanup(&s);
}

static void test_usage_errors(void **state)
{
	svc s;
	svc_params p = params(1);
	char *bad_flag[] = {"svc-test", "--bogus", NULL};
	char *bad_range[] = {"svc-test", "--window", "0", NULL};
	char *bad_level[] = {"svc-test", "--log-level", "loud", NULL};
	(void)state;
	assert_int_equal(svc_exit_code(svc_init(&s, &p, 2, bad_flag)), 2);
	assert_int_equal(svc_exit_code(svc_init(&s, &p, 3, bad_range)), 2);
	assert_int_equal(svc_exit_code(svc_init(&s, &p, 3, bad_level)), 2);
}

static void test_help(void **state)
{
	svc s;
	svc_params p = params(2);
	char *argv[] = {"svc-test", "--help", NULL};
	char out[16384] = "";
	FILE *saved = stdout, *mem = fmemopen(out, sizeof(out) - 1, "w");
	int rc;
	(void)state;
	stdout = mem;
	rc = svc_init(&s, &p, 2, argv);
	stdout = saved;
	fclose(mem);
	assert_int_equal(rc, 1);
	assert_int_equal(svc_exit_code(rc), 0);
	/* shared options first, then the service's own, each with its env name */
	assert_non_null(strstr(out, "svc-test: a test service"));
	assert_non_null(strstr(out, "--broker"));
	assert_non_null(strstr(out, "ANOMESH_METRICS_INTERVAL"));
	assert_non_null(strstr(out, "--window"));
	assert_true(strstr(out, "--broker") < strstr(out, "--window"));
}

static void test_tools_have_no_mqtt_options(void **state)
{
	svc s;
	svc_params p = params(1);
	char *argv[] = {"svc-test", "--broker", "tcp://127.0.0.1:1", NULL};
	char *ok[] = {"svc-test", "--log-level", "debug", NULL};
	(void)state;
	assert_int_equal(svc_exit_code(svc_init(&s, &p, 3, argv)), 2);
	assert_int_equal(svc_init(&s, &p, 3, ok), 0);
	assert_null(s.mqtt);
	svc_cleanup(&s);
}

static void test_starts_with_broker_down(void **state)
{
	svc s;
	svc_params p = params(0);
	/* port 1 on loopback: nothing listens there */
	char *argv[] = {"svc-test", "--broker", "tcp://127.0.0.1:1", NULL};
	(void)state;
	assert_int_equal(svc_init(&s, &p, 3, argv), 0);
	assert_non_null(s.mqtt);
	assert_false(mqtt_is_connected(s.mqtt));
	assert_string_equal(mqtt_root(s.mqtt), "factory");
	svc_cleanup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults_and_own_options, setup),
	    cmocka_unit_test_setup(test_port_and_env, setup),
	    cmocka_unit_test_setup(test_usage_errors, setup),
	    cmocka_unit_test_setup(test_help, setup),
	    cmocka_unit_test_setup(test_tools_have_no_mqtt_options, setup),
	    cmocka_unit_test_setup(test_starts_with_broker_down, setup),
	};
	return cmocka_run_group_tests_name("svc", tests, NULL, NULL);
}
