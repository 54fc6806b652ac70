/* test_msg_repair — the repair request ({root}/{sensor}/repair, archiver ->
 * ingest-bt): the contract's example and built structs round-trip byte for
 * byte; every refusal of the decoder and the encoder has its code and a
 * one-line reason, the range rule (seq_to >= seq_from) included. */
#include "msg_test.h"

static const char REPAIR_EX[] =
    "{\"v\":1,\"sensor\":\"arm1\",\"run\":\"6f2a91c0\",\"seq_from\":1042,"
    "\"seq_to\":1100}";

static void test_repair_round_trip(void **state)
{
	char out[MSG_SVC_MAX_PAYLOAD];
	msg_repair m, d;
	size_t len;
	(void)state;

	assert_int_equal(
	    msg_repair_decode(REPAIR_EX, strlen(REPAIR_EX), &m, err, sizeof(err)), 0);
	assert_string_equal(m.sensor, "arm1");
	assert_string_equal(m.run, "6f2a91c0");
	assert_true(m.seq_from == 1042 && m.seq_to == 1100);
	assert_int_equal(msg_repair_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_string_equal(out, REPAIR_EX);
	assert_int_equal(len, strlen(REPAIR_EX));
	/* one message, and the largest seqs the contract allows */
	memset(&m, 0, sizeof(m));
	snprintf(m.sensor, sizeof(m.sensor), "s");
	snprintf(m.run, sizeof(m.run), "r 1");
	m.seq_from = m.seq_to = 9007199254740992ull;
	assert_int_equal(msg_repair_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_string_equal(out, "{\"v\":1,\"sensor\":\"s\",\"run\":\"r 1\",\"seq_from\":"
				 "9007199254740992,\"seq_to\":9007199254740992}");
	assert_int_equal(msg_repair_decode(out, len, &d, err, sizeof(err)), 0);
	assert_true(d.seq_from == m.seq_from && d.seq_to == m.seq_to);
}

/* A refusal leaves the output as it was. */
static void refused(const char *json, int want)
{
	msg_repair m;
	memset(&m, 0x55, sizeof(m));
	err[0] = 0;
	check_refusal(msg_repair_decode(json, strlen(json), &m, err, sizeof(err)), want,
		      json);
	assert_int_equal(((unsigned char *)&m)[0], 0x55);
}

static void test_repair_refusals(void **state)
{
	msg_repair m;
	char out[MSG_SVC_MAX_PAYLOAD];
	size_t len = 1;
	(void)state;

	refused("{\"v\":1,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":5,\"seq_to\":4}",
		AM_EVALUE);
	refused("{\"v\":1,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":5}", AM_EFIELD);
	refused("{\"v\":1,\"sensor\":\"arm1\",\"seq_from\":1,\"seq_to\":2}", AM_EFIELD);
	refused("{\"v\":1,\"sensor\":\"a/b\",\"run\":\"r\",\"seq_from\":1,\"seq_to\":2}",
		AM_EVALUE);
	refused("{\"v\":1,\"sensor\":\"arm1\",\"run\":\"\",\"seq_from\":1,\"seq_to\":2}",
		AM_EVALUE);
	refused(
	    "{\"v\":1,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":-1,\"seq_to\":2}",
	    AM_EVALUE);
	refused(
	    "{\"v\":1,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":1.5,\"seq_to\":2}",
	    AM_EVALUE);
	refused("{\"v\":2,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":1,\"seq_to\":2}",
		AM_EVERSION);
	refused(
	    "{\"v\":1,\"sensor\":\"arm1\",\"run\":\"r\",\"seq_from\":1,\"seq_to\":2}x",
	    AM_EJSON);
	/* the encoder refuses what the decoder would */
	memset(&m, 0, sizeof(m));
	snprintf(m.sensor, sizeof(m.sensor), "arm1");
	snprintf(m.run, sizeof(m.run), "r");
	m.seq_from = 3;
	m.seq_to = 2;
	check_refusal(msg_repair_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
		      AM_EVALUE, "encode seq_to < seq_from");
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	m.seq_to = 3;
	m.run[0] = 0;
	check_refusal(msg_repair_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
		      AM_EVALUE, "encode without a run");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repair_round_trip),
	    cmocka_unit_test(test_repair_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
