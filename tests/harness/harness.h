/* harness — what integration tests need around the code under test: a real
 * mosquitto on a free loopback port with a per-test config (Mosquitto's own
 * test style), child processes stopped by pid with a deadline, a collecting
 * subscriber to assert on what went over the broker, and the temp dirs and
 * file reads tests poll on. One header; the code by job: harness_proc.c,
 * harness_broker.c, harness_sub.c, harness_files.c. (mesh.h: helpers that
 * know anomesh's own programs; aeref.h: a reference of the model; synth.h:
 * recordings the tests make themselves.)
 *
 * Synchronisation is always "poll a condition until a deadline", never a
 * fixed sleep. Every function that can fail returns 0 / a pid, or -1 with a
 * line on stderr saying why (this is test code: failing loudly is its job).
 *
 * Ownership: a harness_broker is embedded by the caller (zero it first) and
 * owns its temp dir and process until harness_broker_stop(). A harness_sub is
 * heap-allocated by harness_sub_new() and freed by harness_sub_free()
 * (NULL-safe). Strings returned by harness_bin/harness_shared/harness_tmpdir
 * stay valid until the process exits. */
#ifndef ANOMESH_HARNESS_H
#define ANOMESH_HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- broker ------------------------------------------------------------ */

typedef struct harness_broker {
	pid_t pid;           /* 0 while down */
	int port;            /* 127.0.0.1 port, fixed after the first start */
	char uri[64];        /* "tcp://127.0.0.1:PORT" */
	char dir[PATH_MAX];  /* per-broker temp dir: config, log, persistence */
	char conf[PATH_MAX]; /* dir/mosquitto.conf */
	char log[PATH_MAX];  /* dir/mosquitto.log (broker stdout + stderr) */
} harness_broker;

/* Start a mosquitto on a free 127.0.0.1 port. The config has the listener,
 * allow_anonymous true and persistence_location in the temp dir; extra_conf
 * (may be NULL) is appended verbatim, e.g. "persistence true\n" to keep
 * sessions and queued messages across harness_broker_restart(). Returns once
 * the port accepts connections. */
int harness_broker_start(harness_broker *b, const char *extra_conf);
/* Take the broker down (SIGTERM, then SIGKILL after a deadline) keeping its
 * port, config and persistence; harness_broker_up() starts it again. */
int harness_broker_down(harness_broker *b);
int harness_broker_up(harness_broker *b);
/* down + up, same port, same persistence dir. */
int harness_broker_restart(harness_broker *b);
/* Down for good and remove the temp dir (kept if ANOMESH_KEEP_TMP is set).
 * Safe on a zeroed or already stopped broker. */
void harness_broker_stop(harness_broker *b);

/* ---- processes ----------------------------------------------------------- */

/* fork/exec argv[0] (PATH searched) with env_extra ("NAME=value", NULL-ended,
 * may be NULL) added to the environment; stdout and stderr go to a fresh log
 * file in harness_tmpdir(), whose path is copied to log_path when given. The
 * child dies with the test process (PR_SET_PDEATHSIG). Returns pid or -1. */
pid_t harness_spawn(const char *const argv[], const char *const env_extra[],
		    char *log_path, size_t log_len);
/* Send sig, wait up to deadline_ms for the exit, then SIGKILL. Returns the
 * waitpid() status (use WIFEXITED etc.), or -1 if pid was not our child. */
int harness_stop(pid_t pid, int sig, int deadline_ms);
/* SIGKILL and reap. Returns the waitpid() status or -1. */
int harness_kill9(pid_t pid);
/* Wait up to timeout_ms for pid to exit by itself. Returns the waitpid()
 * status, or -1 on timeout (the process is left running). */
int harness_wait_exit(pid_t pid, int timeout_ms);
/* Nonzero when a status from the calls above is a clean exit (exit 0; under
 * SAN=1 that also means no leak or sanitizer report). */
int harness_exited_ok(int status);
/* The scheduling policy (SCHED_OTHER, SCHED_BATCH, ...) of every thread of
 * pid: the same for all, or -1 when they differ or cannot be read.
 * *threads: how many were read. */
int harness_thread_policy(pid_t pid, int *threads);

/* ---- paths ------------------------------------------------------------------ */

/* "$ANOMESH_BIN/name" ("bin/name" when unset). */
const char *harness_bin(const char *name);
/* "$ANOMESH_SHARED/rel" ("../shared/rel" when unset). */
const char *harness_shared(const char *rel);
/* The data under ../shared (the real recordings, SKAB) is optional: a case
 * that needs harness_shared(rel) calls this first. 0 when the file can be
 * read; else 1, after a line "SKIP: <path> not found ..." on stdout saying
 * it is optional and where it goes (tests/run.sh collects these), and the
 * case then calls cmocka's skip(). Its twin on the synthetic data runs
 * regardless. */
int harness_shared_missing(const char *rel);
/* A temp dir private to this test process, created on first use and removed
 * at exit (unless ANOMESH_KEEP_TMP is set). */
const char *harness_tmpdir(void);
/* A fresh, empty directory "<harness_tmpdir()>/<name>.XXXXXX" into out
 * (len bytes): one per test, so tests never share files. Returns 0 or -1.
 * It goes with the temp dir at exit; harness_rm_tree() removes it sooner. */
int harness_tmpdir_new(const char *name, char *out, size_t len);
/* Remove dir and everything below it (not when ANOMESH_KEEP_TMP is set).
 * NULL or "" is a no-op. */
void harness_rm_tree(const char *dir);

/* ---- files tests poll on -------------------------------------------------- */

/* The first line of path, without its line end, into out (len bytes).
 * Returns 0, or -1 when the file is missing or its first line empty (a
 * port file not written yet). */
int harness_read_first_line(const char *path, char *out, size_t len);
/* harness_read_first_line() polled until it succeeds, at most timeout_ms.
 * Returns 0, or -1 on timeout. */
int harness_wait_first_line(const char *path, char *out, size_t len, int timeout_ms);
/* Lines of path (a log) containing needle; 0 when the file is missing. */
int harness_file_count(const char *path, const char *needle);
/* Wait until at least count lines of path contain needle, at most
 * timeout_ms. Returns 0, or -1 on timeout. */
int harness_wait_file_count(const char *path, const char *needle, int count,
			    int timeout_ms);

/* Monotonic milliseconds, for deadlines in tests. */
long long harness_now_ms(void);
/* Sleep ms: only as the interval of a loop polling a condition against a
 * deadline, never to "let something happen". */
void harness_nap_ms(int ms);

/* ---- collecting subscriber --------------------------------------------------- */

typedef struct harness_msg {
	char *topic;
	char *payload; /* len bytes + a NUL not counted */
	size_t len;
	int qos;
	int retained;
} harness_msg;

typedef struct harness_sub harness_sub;

/* Predicate over everything received so far, called with the subscriber's
 * lock held (do not call harness_sub_* from it). Nonzero: satisfied. */
typedef int (*harness_pred)(const harness_msg *msgs, size_t n, void *ud);

/* A raw Paho (MQTT v5) client, independent of common/mqtt.c, that records
 * every message on filter (QoS 1 subscription). Returns once the broker has
 * acknowledged the subscription, so anything published afterwards is seen.
 * client_id NULL: a generated one. persistent: clean start off and a session
 * expiry of one hour, so messages queue while it (or the broker, with
 * persistence on) is down; it reconnects by itself. NULL on failure. */
harness_sub *harness_sub_new(const char *uri, const char *filter, const char *client_id,
			     int persistent);
void harness_sub_free(harness_sub *s);

/* Wait until pred holds (or, with pred NULL, until at least count messages
 * arrived), at most timeout_ms. Returns 0, or -1 on timeout. */
int harness_sub_wait(harness_sub *s, harness_pred pred, void *ud, size_t count,
		     int timeout_ms);
/* Wait for a message on topic (and, if contains is not NULL, whose payload
 * contains that text). Returns its index, or -1 on timeout. */
long harness_sub_wait_topic(harness_sub *s, const char *topic, const char *contains,
			    int timeout_ms);
/* Wait until the latest message on topic (a service's metrics JSON) has a
 * numeric field name >= min, at most timeout_ms. Returns 0, or -1 on
 * timeout; *value (if not NULL) gets the latest value seen, -1 if none. */
int harness_sub_wait_metric(harness_sub *s, const char *topic, const char *name,
			    long long min, int timeout_ms, long long *value);
/* The numeric field name of the latest message on topic (NULL: the latest
 * message of any topic), as it is now: no waiting. -1 when there is none or
 * it is not a number. */
long long harness_sub_metric(harness_sub *s, const char *topic, const char *name);
size_t harness_sub_count(harness_sub *s);
/* Copy of message i (topic and payload freshly allocated: release with
 * harness_msg_cleanup). Returns 0, or -1 if i is out of range. */
int harness_sub_get(harness_sub *s, size_t i, harness_msg *out);
void harness_msg_cleanup(harness_msg *m);
/* Forget what was received so far. */
void harness_sub_clear(harness_sub *s);
int harness_sub_connected(harness_sub *s);

#endif
