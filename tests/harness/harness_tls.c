/* harness_tls — a test broker with an MQTT TLS listener beside its plain
 * loopback one (harness_tls.h): certificates from the project's own
 * scripts/broker-certs.sh, so the tests also run what an operator runs. The
 * TLS port is picked like the plain one (bind to port 0, read it back);
 * a port taken meanwhile makes mosquitto fail to start, loudly. */
#include "harness_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CERTS_MS 30000

static int tls_port_pick(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int port = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int harness_tls_broker_start(harness_tls_broker *t, const char *extra_conf)
{
	char conf[4 * PATH_MAX + 512], log[PATH_MAX];
	const char *script = "scripts/broker-certs.sh";
	pid_t pid;
	int st;

	memset(t, 0, sizeof(*t));
	if (access(script, X_OK) != 0) {
		fprintf(stderr, "harness: %s: %s (run from the repository root)\n",
			script, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(t->certdir, sizeof(t->certdir), "%.3000s/tls-certs",
			     harness_tmpdir()) >= sizeof(t->certdir) ||
	    (size_t)snprintf(t->cafile, sizeof(t->cafile), "%.3000s/ca.crt",
			     t->certdir) >= sizeof(t->cafile)) {
		fprintf(stderr, "harness: temp dir path too long\n");
		return -1;
	}
	{
		const char *argv[] = {"sh",        script,      "-d", t->certdir,
				      "localhost", "127.0.0.1", NULL};
		pid = harness_spawn(argv, NULL, log, sizeof(log));
	}
	st = pid > 0 ? harness_wait_exit(pid, CERTS_MS) : -1;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "harness: broker-certs.sh failed (status %d), see %s\n",
			st, log);
		return -1;
	}
	t->tls_port = tls_port_pick();
	if (t->tls_port <= 0)
		return -1;
	snprintf(conf, sizeof(conf),
		 "listener %d 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/broker.crt\n"
		 "keyfile %s/broker.key\n%s",
		 t->tls_port, t->certdir, t->certdir, t->certdir,
		 extra_conf ? extra_conf : "");
	if (harness_broker_start(&t->b, conf) != 0)
		return -1;
	snprintf(t->tls_uri, sizeof(t->tls_uri), "ssl://localhost:%d", t->tls_port);
	return 0;
}

void harness_tls_broker_stop(harness_tls_broker *t)
{
	if (t)
		harness_broker_stop(&t->b);
}
