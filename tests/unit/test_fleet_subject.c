/* test_fleet_subject — the fleet namespace as the central archiver parses
 * and builds it (services/fleet-archiver/fsubject.h): stored subjects of
 * NATS 2.9's MQTT listener after the cluster's partition mapping, ids that
 * may and may not be plants and gateways, consumer names and filters, the
 * archive's file layout, and partition lists; and the TLS choices of
 * the connection (fnats.h): when it is TLS, which name the servers'
 * certificates must carry, files checked before connecting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/fleet-archiver/fsubject.h"
#include "../../services/fleet-archiver/fview.h"

#include <string.h>

static void test_parse_stored(void **state)
{
	fsubject s;
	char err[128];
	(void)state;
	assert_int_equal(fsubject_parse("$MQTT.msgs.fleetraw.3.plantA.gw-1.arm_1", &s,
					err, sizeof(err)),
			 0);
	assert_int_equal(s.partition, 3);
	assert_string_equal(s.plant, "plantA");
	assert_string_equal(s.gateway, "gw-1");
	assert_string_equal(s.sensor, "arm_1");
	/* without the MQTT stream's prefix (a plain NATS subscriber's view) */
	assert_int_equal(fsubject_parse("fleetraw.63.p.g.s", &s, err, sizeof(err)), 0);
	assert_int_equal(s.partition, 63);
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
	    "",
	    "fleet.p.g.arm1.raw",              /* not mapped */
	    "$MQTT.msgs.fleetraw.p.g.arm1",    /* no partition */
	    "$MQTT.msgs.fleetraw.64.p.g.arm1", /* partition out of range */
	    "$MQTT.msgs.fleetraw.-1.p.g.arm1",
	    "$MQTT.msgs.fleetraw.1.p.g",       /* no sensor */
	    "$MQTT.msgs.fleetraw.1.p.g.arm.1", /* a dot in the sensor: 5 tokens */
	    "$MQTT.msgs.fleetraw.1..g.arm1",   /* empty plant */
	    "$MQTT.msgs.fleetraw.1.p.g.",      /* empty sensor */
	    "$MQTT.msgs.fleetraw.1.p.g+.arm1", /* not an id */
	    "$MQTT.msgs.fleetraw.1.p.g.arm 1", /* not a sensor id */
	    "$MQTT.msgs.fleetraw.1.pppppppppppppppppppppppppppppppppp.g.a", /* 34 bytes */
	};
	fsubject s;
	char err[128];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (fsubject_parse(bad[i], &s, err, sizeof(err)) != AM_EFORMAT)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != 0);
	}
	assert_int_equal(fsubject_parse(NULL, &s, err, sizeof(err)), AM_EFORMAT);
}

static void test_ids(void **state)
{
	(void)state;
	assert_true(fsubject_id_valid("plant-1_B"));
	assert_true(fsubject_id_valid("01234567890123456789012345678901")); /* 32 */
	assert_false(fsubject_id_valid("012345678901234567890123456789012"));
	assert_false(fsubject_id_valid(""));
	assert_false(fsubject_id_valid(NULL));
	assert_false(fsubject_id_valid("a.b")); /* a NATS token separator */
	assert_false(fsubject_id_valid("a/b")); /* an MQTT level */
	assert_false(fsubject_id_valid("a+"));
	assert_false(fsubject_id_valid("a#"));
	assert_false(fsubject_id_valid("a*"));
	assert_false(fsubject_id_valid("a>"));
}

static void test_names(void **state)
{
	char out[64];
	fsubject s = {.partition = 7, .plant = "p1", .gateway = "gw2", .sensor = "arm1"};
	(void)state;
	assert_int_equal(fsubject_filter(5, out, sizeof(out)), 0);
	assert_string_equal(out, "$MQTT.msgs.fleetraw.5.>");
	assert_int_equal(fsubject_filter(64, out, sizeof(out)), AM_EINVAL);
	assert_int_equal(fsubject_filter(5, out, 10), AM_ETOOBIG);
	assert_int_equal(fsubject_durable("archive", 12, out, sizeof(out)), 0);
	assert_string_equal(out, "archive-p12");
	assert_int_equal(fsubject_durable("a.b", 1, out, sizeof(out)), AM_EINVAL);
	assert_int_equal(fsubject_db_path("/srv/fleet", &s, out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/fleet/p1/gw2/p07.db");
	assert_int_equal(fsubject_db_path("/srv/fleet", &s, out, 12), AM_ETOOBIG);
}

static void test_partitions(void **state)
{
	int p[FSUBJECT_PARTITIONS_MAX];
	size_t n;
	char err[128];
	(void)state;
	assert_int_equal(fsubject_partitions_parse("all", 4, p, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[3], 3);
	assert_int_equal(fsubject_partitions_parse("0-2,6", 8, p, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[2], 2);
	assert_int_equal(p[3], 6);
	assert_int_equal(fsubject_partitions_parse("5", 8, p, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	static const char *const bad[] = {"8", "1,1", "0-1,1", "3-2",
					  "x", "1;2", "",      ","};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fsubject_partitions_parse(bad[i], 8, p, &n, err, sizeof(err)) !=
		    AM_EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(fsubject_partitions_parse("all", 0, p, &n, err, sizeof(err)),
			 AM_EINVAL);
	assert_int_equal(fsubject_partitions_parse("all", 65, p, &n, err, sizeof(err)),
			 AM_EINVAL);
}

/* The fleet view's topics (fview.h): subject tokens become topic levels;
 * only the fleet namespace's states, alerts and predictions pass. */
static void test_view_topics(void **state)
{
	static const char *const bad[] = {
	    "fleet.p.g.arm1.raw",  "fleet.p.g.arm1.ack",    "fleet.p.g.arm1",
	    "fleet.p.g.a.b.state", "fleetx.p.g.arm1.state", "fleet.p.g+.arm1.state",
	    "fleet..g.arm1.state", "fleet.p.g.arm 1.state", "",
	};
	char out[192];
	(void)state;
	assert_int_equal(fview_topic("fleet.plant1.gw-2.arm_1.state", out, sizeof(out)),
			 0);
	assert_string_equal(out, "fleet/plant1/gw-2/arm_1/state");
	assert_int_equal(fview_topic("fleet.p.g.s.alert", out, sizeof(out)), 0);
	assert_int_equal(fview_topic("fleet.p.g.s.prediction", out, sizeof(out)), 0);
	assert_string_equal(out, "fleet/p/g/s/prediction");
	assert_int_equal(fview_topic("fleet.p.g.s.state", out, 10), AM_ETOOBIG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fview_topic(bad[i], out, sizeof(out)) != AM_EFORMAT)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_nats_tls(void **state)
{
	char host[64], err[256];
	fnats_tls t = {0};
	(void)state;
	assert_int_equal(fnats_first_host("nats://n1.fleet:4222,nats://n2.fleet:4222",
					  host, sizeof(host)),
			 0);
	assert_string_equal(host, "n1.fleet");
	assert_int_equal(fnats_first_host(" tls://u:p@10.0.0.7:4222", host, sizeof(host)),
			 0);
	assert_string_equal(host, "10.0.0.7");
	assert_int_equal(fnats_first_host("tls://[fd00::7]:4222", host, sizeof(host)), 0);
	assert_string_equal(host, "fd00::7");
	assert_int_equal(fnats_first_host("localhost:4222", host, sizeof(host)), 0);
	assert_string_equal(host, "localhost");
	assert_int_equal(fnats_first_host("nats://:4222", host, sizeof(host)), AM_EINVAL);
	assert_int_equal(
	    fnats_first_host("nats://a-very-long-host-name.example:1", host, 8),
	    AM_EINVAL);
	/* TLS: asked for by a CA, a client certificate or a tls:// URL */
	assert_false(fnats_tls_wanted("nats://h:1,nats://h:2", NULL));
	assert_false(fnats_tls_wanted("nats://h:1", &t));
	assert_true(fnats_tls_wanted("nats://h:1,tls://h:2", NULL));
	t.cafile = "/etc/ssl/certs/ca-certificates.crt";
	assert_true(fnats_tls_wanted("nats://h:1", &t));
	/* files checked before any connection */
	t.cafile = "/nonexistent/ca.crt";
	assert_int_equal(fnats_tls_check(&t, err, sizeof(err)), AM_EINVAL);
	assert_non_null(strstr(err, "/nonexistent/ca.crt"));
	t.cafile = NULL;
	t.keyfile = "/dev/null";
	assert_int_equal(fnats_tls_check(&t, err, sizeof(err)), AM_EINVAL);
	t.certfile = "/dev/null";
	assert_int_equal(fnats_tls_check(&t, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_stored), cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_ids),          cmocka_unit_test(test_names),
	    cmocka_unit_test(test_partitions),   cmocka_unit_test(test_view_topics),
	    cmocka_unit_test(test_nats_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
