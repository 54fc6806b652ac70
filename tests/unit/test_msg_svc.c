/* test_msg_svc — the _svc messages: service status and the scorer group.
 * Table-driven: payloads that must round-trip byte for byte (in the exact
 * form common/mqtt.c publishes them: online with pid and t, the last will
 * without), then every refusal of the decoders and of the encoders, each
 * with its code and a one-line reason. */
#include "msg_test.h"

/* ---- round trips ----------------------------------------------------------- */

static const char *const STATUS_OK[] = {
    "{\"v\":1,\"service\":\"scorer\",\"instance\":\"gw1-4242\",\"state\":\"online\","
    "\"pid\":4242,\"t\":1764151200.125}",
    "{\"v\":1,\"service\":\"scorer\",\"instance\":\"gw1-4242\",\"state\":\"offline\"}",
    "{\"v\":1,\"service\":\"alerter\",\"instance\":\"caf\xc3\xa9\",\"state\":\"offline\","
    "\"pid\":1,\"t\":1764151300.5}",
    "{\"v\":1,\"service\":\"ingest-bt\",\"instance\":\"i\",\"state\":\"online\",\"pid\":"
    "9007199254740992,\"t\":0}",
    /* service and instance repeat the topic: a reader may go without */
    "{\"v\":1,\"state\":\"online\"}",
    "{\"v\":1,\"state\":\"offline\",\"t\":5}",
};

static const char *const GROUP_OK[] = {
    "{\"v\":1,\"group\":\"default\"}",
    "{\"v\":1,\"group\":\"line 2 \\\"east\\\" \\\\ \xe2\x82\xac\"}",
    "{\"v\":1,\"group\":\"x\"}",
    /* a heartbeat: when it was sent */
    "{\"v\":1,\"group\":\"default\",\"t\":1764151200.5}",
};

static void test_status_round_trip(void **state)
{
	char out[MSG_SVC_MAX_PAYLOAD], again[MSG_SVC_MAX_PAYLOAD];
	msg_status m, d;
	size_t len, len2;
	(void)state;

	for (size_t i = 0; i < sizeof(STATUS_OK) / sizeof(STATUS_OK[0]); i++) {
		memset(&m, 0x55, sizeof(m));
		if (msg_status_decode(STATUS_OK[i], strlen(STATUS_OK[i]), &m, err,
				      sizeof(err)))
			fail_msg("refused %s: %s", STATUS_OK[i], err);
		assert_int_equal(
		    msg_status_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
		assert_int_equal(len, strlen(STATUS_OK[i]));
		assert_string_equal(out, STATUS_OK[i]);
		assert_int_equal(msg_status_decode(out, len, &d, err, sizeof(err)), 0);
		assert_int_equal(
		    msg_status_encode(&d, again, sizeof(again), &len2, err, sizeof(err)),
		    0);
		assert_string_equal(again, out);
	}
	/* the fields as they read */
	assert_int_equal(
	    msg_status_decode(STATUS_OK[0], strlen(STATUS_OK[0]), &m, err, sizeof(err)),
	    0);
	assert_string_equal(m.service, "scorer");
	assert_string_equal(m.instance, "gw1-4242");
	assert_int_equal(m.online, 1);
	assert_int_equal(m.has_pid, 1);
	assert_true(m.pid == 4242);
	assert_int_equal(m.has_t, 1);
	assert_true(m.t == 1764151200.125);
	assert_int_equal(
	    msg_status_decode(STATUS_OK[1], strlen(STATUS_OK[1]), &m, err, sizeof(err)),
	    0);
	assert_int_equal(m.online, 0);
	assert_int_equal(m.has_pid, 0);
	assert_int_equal(m.has_t, 0);
	assert_int_equal(
	    msg_status_decode(STATUS_OK[4], strlen(STATUS_OK[4]), &m, err, sizeof(err)),
	    0);
	assert_string_equal(m.service, "");
	assert_string_equal(m.instance, "");
	/* built from a struct, as a service does */
	memset(&m, 0, sizeof(m));
	snprintf(m.service, sizeof(m.service), "archiver");
	snprintf(m.instance, sizeof(m.instance), "host-17");
	m.online = 1;
	m.has_pid = 1;
	m.pid = 17;
	m.has_t = 1;
	m.t = 1764151200.5;
	assert_int_equal(msg_status_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_string_equal(out,
			    "{\"v\":1,\"service\":\"archiver\",\"instance\":\"host-17\","
			    "\"state\":\"online\",\"pid\":17,\"t\":1764151200.5}");
}

static void test_group_round_trip(void **state)
{
	char out[MSG_SVC_MAX_PAYLOAD];
	msg_group m, d;
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof(GROUP_OK) / sizeof(GROUP_OK[0]); i++) {
		if (msg_group_decode(GROUP_OK[i], strlen(GROUP_OK[i]), &m, err,
				     sizeof(err)))
			fail_msg("refused %s: %s", GROUP_OK[i], err);
		assert_int_equal(
		    msg_group_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
		assert_int_equal(len, strlen(GROUP_OK[i]));
		assert_string_equal(out, GROUP_OK[i]);
		assert_int_equal(msg_group_decode(out, len, &d, err, sizeof(err)), 0);
		assert_string_equal(d.group, m.group);
		assert_int_equal(d.has_t, m.has_t);
		assert_true(!d.has_t || d.t == m.t);
	}
	assert_int_equal(
	    msg_group_decode(GROUP_OK[1], strlen(GROUP_OK[1]), &m, err, sizeof(err)), 0);
	assert_string_equal(m.group, "line 2 \"east\" \\ \xe2\x82\xac");
	/* exactly the bytes scorer/main.c used to print for a plain name */
	snprintf(m.group, sizeof(m.group), "default");
	assert_int_equal(msg_group_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_string_equal(out, "{\"v\":1,\"group\":\"default\"}");
}

/* ---- decoder refusals ---------------------------------------------------- */

#define N128                                                                             \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	int group; /* 0 status, 1 group */
	const char *json;
	int want;
} REFUSED[] = {
    /* not a payload */
    {0, "", AM_EJSON},
    {0, "{\"v\":1,\"state\":\"online\"", AM_EJSON},
    {0, "[\"online\"]", AM_EJSON},
    {0, "{\"v\":1,\"state\":\"online\"} x", AM_EJSON},
    {0, "{\"v\":1,\"state\":\"online\",\"service\":\"a\\u0000b\"}", AM_EVALUE},
    {1, "{\"v\":1,\"group\":\"g\"}{}", AM_EJSON},
    /* version */
    {0, "{\"state\":\"online\"}", AM_EFIELD},
    {0, "{\"v\":2,\"state\":\"online\"}", AM_EVERSION},
    {1, "{\"group\":\"g\"}", AM_EFIELD},
    {1, "{\"v\":\"1\",\"group\":\"g\"}", AM_EFIELD},
    {1, "{\"v\":0,\"group\":\"g\"}", AM_EVERSION},
    /* state */
    {0, "{\"v\":1}", AM_EFIELD},
    {0, "{\"v\":1,\"state\":1}", AM_EFIELD},
    {0, "{\"v\":1,\"state\":\"starting\"}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"Online\"}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"\"}", AM_EVALUE},
    /* service, instance */
    {0, "{\"v\":1,\"service\":7,\"state\":\"online\"}", AM_EFIELD},
    {0, "{\"v\":1,\"instance\":null,\"state\":\"online\"}", AM_EFIELD},
    {0, "{\"v\":1,\"service\":\"a\\nb\",\"state\":\"online\"}", AM_EVALUE},
    {0, "{\"v\":1,\"instance\":\"\xc0\xaf\",\"state\":\"online\"}", AM_EVALUE},
    {0, "{\"v\":1,\"instance\":\"" N128 "b\",\"state\":\"online\"}", AM_ETOOBIG},
    {0, "{\"v\":1,\"service\":\"" N128 "b\",\"state\":\"online\"}", AM_ETOOBIG},
    /* pid */
    {0, "{\"v\":1,\"state\":\"online\",\"pid\":\"42\"}", AM_EFIELD},
    {0, "{\"v\":1,\"state\":\"online\",\"pid\":-1}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"online\",\"pid\":1.5}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"online\",\"pid\":9007199254740994}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"online\",\"pid\":1e999}", AM_EVALUE},
    /* t */
    {0, "{\"v\":1,\"state\":\"online\",\"t\":true}", AM_EFIELD},
    {0, "{\"v\":1,\"state\":\"online\",\"t\":-1}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"online\",\"t\":1e999}", AM_EVALUE},
    {0, "{\"v\":1,\"state\":\"online\",\"t\":NaN}", AM_EJSON},
    /* group */
    {1, "{\"v\":1}", AM_EFIELD},
    {1, "{\"v\":1,\"group\":null}", AM_EFIELD},
    {1, "{\"v\":1,\"group\":[\"g\"]}", AM_EFIELD},
    {1, "{\"v\":1,\"group\":\"\"}", AM_EVALUE},
    {1, "{\"v\":1,\"group\":\"a\\tb\"}", AM_EVALUE},
    {1, "{\"v\":1,\"group\":\"\xff\"}", AM_EVALUE},
    {1, "{\"v\":1,\"group\":\"" N128 "b\"}", AM_ETOOBIG},
    {1, "{\"v\":1,\"group\":\"g\",\"t\":-1}", AM_EVALUE},
    {1, "{\"v\":1,\"group\":\"g\",\"t\":\"1\"}", AM_EFIELD},
};

static int decode_svc(int group, const char *json, size_t len)
{
	msg_status s;
	msg_group g;
	err[0] = '\0';
	return group ? msg_group_decode(json, len, &g, err, sizeof(err))
		     : msg_status_decode(json, len, &s, err, sizeof(err));
}

static void test_decode_refusals(void **state)
{
	char *big;
	(void)state;
	for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++)
		check_refusal(decode_svc(REFUSED[i].group, REFUSED[i].json,
					 strlen(REFUSED[i].json)),
			      REFUSED[i].want, REFUSED[i].json);
	/* a 128-byte name is fine, 129 is not (above) */
	{
		static const char g128[] = "{\"v\":1,\"group\":\"" N128 "\"}";
		static const char i128[] =
		    "{\"v\":1,\"instance\":\"" N128 "\",\"state\":\"online\"}";
		assert_int_equal(decode_svc(1, g128, strlen(g128)), 0);
		assert_int_equal(decode_svc(0, i128, strlen(i128)), 0);
	}
	/* the payload cap: MSG_SVC_MAX_PAYLOAD bytes (padded) decode, one more
	 * is refused before parsing */
	big = malloc(MSG_SVC_MAX_PAYLOAD + 2);
	assert_non_null(big);
	memset(big, ' ', MSG_SVC_MAX_PAYLOAD + 1);
	memcpy(big, GROUP_OK[0], strlen(GROUP_OK[0]));
	assert_int_equal(decode_svc(1, big, MSG_SVC_MAX_PAYLOAD), 0);
	check_refusal(decode_svc(1, big, MSG_SVC_MAX_PAYLOAD + 1), AM_ETOOBIG,
		      "group cap");
	memcpy(big, STATUS_OK[0], strlen(STATUS_OK[0]));
	assert_int_equal(decode_svc(0, big, MSG_SVC_MAX_PAYLOAD), 0);
	check_refusal(decode_svc(0, big, MSG_SVC_MAX_PAYLOAD + 1), AM_ETOOBIG,
		      "status cap");
	free(big);
	check_refusal(decode_svc(0, NULL, 0), AM_EJSON, "NULL");
	check_refusal(
	    msg_status_decode(STATUS_OK[0], strlen(STATUS_OK[0]), NULL, err, sizeof(err)),
	    AM_EFIELD, "no output struct");
}

/* ---- encoder refusals ---------------------------------------------------- */

static void good_status(msg_status *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->service, sizeof(m->service), "scorer");
	snprintf(m->instance, sizeof(m->instance), "i1");
	m->online = 1;
	m->has_pid = 1;
	m->pid = 1;
	m->has_t = 1;
	m->t = 1;
}

static void test_encode_refusals(void **state)
{
	static const struct {
		const char *what;
		int want;
	} cases[] = {
	    {"state 2", AM_EVALUE},
	    {"state -1", AM_EVALUE},
	    {"pid -1", AM_EVALUE},
	    {"pid over 2^53", AM_EVALUE},
	    {"t NaN", AM_EVALUE},
	    {"t negative", AM_EVALUE},
	    {"service with a control character", AM_EVALUE},
	    {"instance unterminated", AM_ETOOBIG},
	    {"output buffer of 20 bytes", AM_ETOOBIG},
	    {"no output buffer", AM_ETOOBIG},
	    {"no message", AM_EFIELD},
	};
	char out[MSG_SVC_MAX_PAYLOAD];
	msg_status m;
	msg_group g;
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const msg_status *mp = &m;
		char *o = out;
		size_t cap = sizeof(out);
		good_status(&m);
		switch (i) {
		case 0:
			m.online = 2;
			break;
		case 1:
			m.online = -1;
			break;
		case 2:
			m.pid = -1;
			break;
		case 3:
			m.pid = (1ll << 53) + 1;
			break;
		case 4:
			m.t = NAN;
			break;
		case 5:
			m.t = -1;
			break;
		case 6:
			snprintf(m.service, sizeof(m.service), "a\x01");
			break;
		case 7:
			memset(m.instance, 'i', sizeof(m.instance));
			break;
		case 8:
			cap = 20;
			break;
		case 9:
			o = NULL;
			break;
		default:
			mp = NULL;
			break;
		}
		len = 99;
		err[0] = '\0';
		check_refusal(msg_status_encode(mp, o, cap, &len, err, sizeof(err)),
			      cases[i].want, cases[i].what);
		assert_int_equal(len, 0);
	}
	/* what is not written is not checked: a bad pid or t without its flag */
	good_status(&m);
	m.has_pid = 0;
	m.pid = -1;
	m.has_t = 0;
	m.t = NAN;
	assert_int_equal(msg_status_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_string_equal(
	    out,
	    "{\"v\":1,\"service\":\"scorer\",\"instance\":\"i1\",\"state\":\"online\"}");

	memset(&g, 0, sizeof(g));
	check_refusal(msg_group_encode(&g, out, sizeof(out), &len, err, sizeof(err)),
		      AM_EVALUE, "empty group");
	snprintf(g.group, sizeof(g.group), "a\nb");
	check_refusal(msg_group_encode(&g, out, sizeof(out), &len, err, sizeof(err)),
		      AM_EVALUE, "group with a newline");
	memset(g.group, 'g', sizeof(g.group));
	check_refusal(msg_group_encode(&g, out, sizeof(out), &len, err, sizeof(err)),
		      AM_ETOOBIG, "group unterminated");
	snprintf(g.group, sizeof(g.group), "default");
	check_refusal(msg_group_encode(&g, out, 10, &len, err, sizeof(err)), AM_ETOOBIG,
		      "group small cap");
	g.has_t = 1;
	g.t = -1;
	check_refusal(msg_group_encode(&g, out, sizeof(out), &len, err, sizeof(err)),
		      AM_EVALUE, "group t negative");
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_round_trip),
	    cmocka_unit_test(test_group_round_trip),
	    cmocka_unit_test(test_decode_refusals),
	    cmocka_unit_test(test_encode_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
