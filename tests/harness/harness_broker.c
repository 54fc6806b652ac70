/* harness_broker — a real mosquitto per test (see harness.h), in the style
 * of Mosquitto's own tests: a free 127.0.0.1 port, a per-test config and
 * persistence dir, readiness polled by TCP connect against a deadline. A
 * broker taken down keeps its port and persistence, so a restart is the
 * same broker to its clients. */
#include "harness.h"
#include "harness_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BROKER_STOP_MS 5000
#define PORT_TRIES 8

void harness__loopback(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons((uint16_t)port);
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int port = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	harness__loopback(&a, 0);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int harness__port_accepts(int port)
{
	struct sockaddr_in a;
	int ok;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	harness__loopback(&a, port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int write_conf(harness_broker *b, const char *extra)
{
	FILE *f = fopen(b->conf, "w");
	if (!f) {
		harness__fail("cannot write %s: %s", b->conf, strerror(errno));
		return -1;
	}
	fprintf(f, "# per-test broker written by tests/harness\n");
	fprintf(f, "listener %d 127.0.0.1\n", b->port);
	fprintf(f, "allow_anonymous true\n");
	fprintf(f, "persistence_location %s/\n", b->dir);
	/* as root, mosquitto would switch to user "mosquitto", which cannot
	 * write our private temp dir */
	if (geteuid() == 0)
		fprintf(f, "user root\n");
	fprintf(f, "log_dest stderr\nlog_type error\nlog_type warning\n"
		   "log_type notice\nlog_type information\n");
	if (extra)
		fprintf(f, "%s\n", extra);
	return fclose(f) == 0 ? 0 : -1;
}

/* Start mosquitto on b->port and wait until it accepts. Returns 0, -1 when
 * it died (most likely: port taken), -2 on other errors. */
static int broker_launch(harness_broker *b)
{
	const char *argv[] = {"mosquitto", "-c", b->conf, NULL};
	long long deadline = harness_now_ms() + HARNESS_READY_MS;
	pid_t pid = harness__spawn_to(argv, NULL, b->log);
	if (pid < 0)
		return -2;
	for (;;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			harness__fail(
			    "mosquitto on port %d exited at start (status %d), see %s",
			    b->port, st, b->log);
			return -1;
		}
		if (harness__port_accepts(b->port) && waitpid(pid, &st, WNOHANG) == 0) {
			b->pid = pid;
			return 0;
		}
		if (harness_now_ms() >= deadline) {
			harness__fail(
			    "mosquitto on port %d not ready after %d ms, see %s", b->port,
			    HARNESS_READY_MS, b->log);
			harness_kill9(pid);
			return -2;
		}
		harness_nap_ms(HARNESS_POLL_MS);
	}
}

int harness_broker_start(harness_broker *b, const char *extra_conf)
{
	const char *t = getenv("TMPDIR");
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "%s/anomesh-broker-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(b->dir)) {
		harness__fail("mkdtemp: %s", strerror(errno));
		b->dir[0] = '\0';
		return -1;
	}
	if ((size_t)snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir) >=
		sizeof(b->conf) ||
	    (size_t)snprintf(b->log, sizeof(b->log), "%s/mosquitto.log", b->dir) >=
		sizeof(b->log)) {
		harness__fail("temp dir path too long");
		harness_broker_stop(b);
		return -1;
	}
	/* bind-to-0 then close leaves a window for someone else to take the
	 * port: if mosquitto then fails to bind, try another. */
	for (int i = 0; i < PORT_TRIES; i++) {
		int rc;
		b->port = free_port();
		if (b->port <= 0)
			break;
		if (write_conf(b, extra_conf) != 0)
			break;
		rc = broker_launch(b);
		if (rc == 0) {
			snprintf(b->uri, sizeof(b->uri), "tcp://127.0.0.1:%d", b->port);
			return 0;
		}
		if (rc == -2)
			break;
	}
	harness__fail("could not start mosquitto");
	harness_broker_stop(b);
	return -1;
}

int harness_broker_down(harness_broker *b)
{
	int st;
	if (!b || b->pid <= 0)
		return 0;
	st = harness_stop(b->pid, SIGTERM, BROKER_STOP_MS);
	b->pid = 0;
	return st == -1 ? -1 : 0;
}

int harness_broker_up(harness_broker *b)
{
	long long deadline = harness_now_ms() + HARNESS_READY_MS;
	if (!b || b->port <= 0 || !b->dir[0])
		return -1;
	if (b->pid > 0)
		return 0;
	/* same port: retry briefly in case the old socket is not gone yet */
	for (;;) {
		int rc = broker_launch(b);
		if (rc == 0)
			return 0;
		if (rc == -2 || harness_now_ms() >= deadline)
			return -1;
		harness_nap_ms(50);
	}
}

int harness_broker_restart(harness_broker *b)
{
	if (harness_broker_down(b) != 0)
		return -1;
	return harness_broker_up(b);
}

void harness_broker_stop(harness_broker *b)
{
	if (!b)
		return;
	harness_broker_down(b);
	if (b->dir[0])
		harness_rm_tree(b->dir);
	b->dir[0] = '\0';
	b->port = 0;
}
