/* test_tls — every service's end-to-end path over TLS (issue 18):
 *
 *   lpms-emu (synthetic arm, faults) -> ingest-bt -> scorer -> alerter
 *                                                  \-> archiver
 *
 * every one of them a real binary that is given only the broker's TLS
 * listener (ssl://localhost:PORT, --cafile the test CA from
 * scripts/broker-certs.sh); the test's own subscribers sit on the plain
 * loopback listener, as a tool on the broker's host would in production.
 * Shows: all four services come online over TLS (their retained status),
 * raw samples become predictions, the faulty arm's state turns FAILURE
 * with an alert, the archiver stores samples and predictions, every
 * service connected on the TLS port (the broker's log), and each exits
 * cleanly on SIGTERM. Synchronisation: retained status and metrics,
 * polled against deadlines. */
#include "../harness/harness_tls.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 20000
#define FAILURE_MS 90000

enum { EMU, INGEST, SCORER, ARCHIVER, ALERTER, NPROC };
static const char *const PROC_NAME[NPROC] = {"lpms-emu", "ingest-bt", "scorer",
					     "archiver", "alerter"};

typedef struct fixture {
	harness_tls_broker t;
	harness_sub *svc, *state, *alert, *pred;
	pid_t pid[NPROC];
	char log[NPROC][PATH_MAX];
	char db[PATH_MAX];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(harness_tls_broker_start(&f->t, NULL), 0);
	f->svc = harness_sub_new(f->t.b.uri, "factory/_svc/#", NULL, 0);
	f->state = harness_sub_new(f->t.b.uri, "factory/+/state", NULL, 0);
	f->alert = harness_sub_new(f->t.b.uri, "factory/+/alert", NULL, 0);
	f->pred = harness_sub_new(f->t.b.uri, "factory/+/prediction", NULL, 0);
	assert_true(f->svc && f->state && f->alert && f->pred);
	snprintf(f->db, sizeof(f->db), "%s/archive.db", harness_tmpdir());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = NPROC - 1; i >= 0; i--)
		if (f->pid[i] > 0)
			harness_stop(f->pid[i], SIGTERM, 10000);
	harness_sub_free(f->svc);
	harness_sub_free(f->state);
	harness_sub_free(f->alert);
	harness_sub_free(f->pred);
	harness_tls_broker_stop(&f->t);
	free(f);
	return 0;
}

/* Start service k with the shared TLS options and its own arguments
 * (NULL-ended, at most 8), then wait for its retained "online". */
static void start_svc(fixture *f, int k, const char *const own[])
{
	const char *argv[24] = {harness_bin(PROC_NAME[k]),
				"--broker",
				f->t.tls_uri,
				"--cafile",
				f->t.cafile,
				"--instance",
				"tls",
				"--metrics-interval",
				"200"};
	char topic[128];
	size_t n = 9;
	for (size_t i = 0; own[i] && n < 23; i++)
		argv[n++] = own[i];
	argv[n] = NULL;
	f->pid[k] = harness_spawn(argv, NULL, f->log[k], sizeof(f->log[k]));
	assert_true(f->pid[k] > 0);
	snprintf(topic, sizeof(topic), "factory/_svc/%s/tls/status", PROC_NAME[k]);
	if (harness_sub_wait_topic(f->svc, topic, "\"online\"", WAIT_MS) < 0)
		fail_msg("%s never came online over TLS, log %s", PROC_NAME[k],
			 f->log[k]);
}

/* The emulator's TCP port, from its port file. */
static int start_emu(fixture *f)
{
	char port_file[PATH_MAX], port[32] = "";
	long long deadline = harness_now_ms() + WAIT_MS;
	snprintf(port_file, sizeof(port_file), "%s/emu.port", harness_tmpdir());
	const char *argv[] = {harness_bin("lpms-emu"),
			      "--listen-port",
			      "0",
			      "--port-file",
			      port_file,
			      "--arm-seed",
			      "2",
			      "--faults",
			      "--fault-first-s",
			      "6",
			      NULL};
	f->pid[EMU] = harness_spawn(argv, NULL, f->log[EMU], sizeof(f->log[EMU]));
	assert_true(f->pid[EMU] > 0);
	while (!port[0] && harness_now_ms() < deadline) {
		FILE *fp = fopen(port_file, "r");
		if (fp) {
			if (!fgets(port, sizeof(port), fp))
				port[0] = '\0';
			port[strcspn(port, "\r\n")] = '\0';
			fclose(fp);
		}
		if (!port[0])
			harness_nap_ms(20);
	}
	if (!port[0])
		fail_msg("lpms-emu wrote no port, log %s", f->log[EMU]);
	return atoi(port);
}

/* Occurrences of "on port PORT" (a new connection on the TLS listener) in
 * the broker's log. */
static int tls_connections(fixture *f)
{
	char line[512], want[64];
	int n = 0;
	FILE *fp = fopen(f->t.b.log, "r");
	snprintf(want, sizeof(want), " on port %d.", f->t.tls_port);
	while (fp && fgets(line, sizeof(line), fp))
		n += strstr(line, want) != NULL;
	if (fp)
		fclose(fp);
	return n;
}

static void stop_clean(fixture *f, int k)
{
	int st = harness_stop(f->pid[k], SIGTERM, 10000);
	f->pid[k] = 0;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s did not exit cleanly (status %d), log %s", PROC_NAME[k], st,
			 f->log[k]);
}

static void test_every_service_over_tls(void **state)
{
	fixture *f = *state;
	char source[64];
	long long v = -1;
	const char *scorer[] = {"--model", "*=models/arm-linacc.aem", NULL};
	const char *archiver[] = {"--db", f->db, NULL};
	const char *alerter[] = {"--restore-ms", "300", "--window-s", "5", NULL};
	const char *ingest[] = {source, NULL};

	start_svc(f, SCORER, scorer);
	start_svc(f, ARCHIVER, archiver);
	start_svc(f, ALERTER, alerter);
	if (harness_sub_wait_metric(f->svc, "factory/_svc/alerter/tls/metrics", "ready",
				    1, WAIT_MS, NULL))
		fail_msg("alerter never ready, log %s", f->log[ALERTER]);
	snprintf(source, sizeof(source), "tcp:127.0.0.1:%d#arm1", start_emu(f));
	start_svc(f, INGEST, ingest);

	if (harness_sub_wait_topic(f->pred, "factory/arm1/prediction", NULL, WAIT_MS) < 0)
		fail_msg("no prediction for arm1 over TLS, logs %s %s", f->log[INGEST],
			 f->log[SCORER]);
	if (harness_sub_wait_topic(f->state, "factory/arm1/state", "\"FAILURE\"",
				   FAILURE_MS) < 0)
		fail_msg("arm1 never FAILURE over TLS, log %s", f->log[ALERTER]);
	if (harness_sub_wait_topic(f->alert, "factory/arm1/alert", "FAILURE", WAIT_MS) <
	    0)
		fail_msg("no FAILURE alert for arm1, log %s", f->log[ALERTER]);
	if (harness_sub_wait_metric(f->svc, "factory/_svc/archiver/tls/metrics",
				    "samples_stored", 1, WAIT_MS, &v))
		fail_msg("archiver stored no sample (%lld), log %s", v, f->log[ARCHIVER]);
	if (harness_sub_wait_metric(f->svc, "factory/_svc/archiver/tls/metrics",
				    "predictions_stored", 1, WAIT_MS, &v))
		fail_msg("archiver stored no prediction (%lld), log %s", v,
			 f->log[ARCHIVER]);
	/* four services, each at least one connection on the TLS port */
	assert_true(tls_connections(f) >= 4);

	stop_clean(f, INGEST);
	stop_clean(f, EMU);
	stop_clean(f, SCORER);
	stop_clean(f, ARCHIVER);
	stop_clean(f, ALERTER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_service_over_tls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
