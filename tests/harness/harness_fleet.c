/* harness_fleet — a NATS cluster and a TCP relay for the fleet tier's
 * tests (harness_fleet.h). The cluster is rendered by the same script
 * `make run-fleet` uses, so the tests run the configuration that ships. */
#include "harness_fleet.h"

#include "harness.h"
#include "harness_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NATS_READY_MS 20000

/* Nonzero when 127.0.0.1:port can be bound now. */
static int port_free(int port)
{
	struct sockaddr_in a;
	int ok, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	harness__loopback(&a, port);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A base port whose 4 x n ports (client, route, MQTT, monitoring) are free. */
static int pick_base(int n)
{
	for (int tries = 0; tries < 200; tries++) {
		int base = 20000 + (int)((getpid() * 7919L + tries * 613L) % 30000),
		    ok = 1;
		for (int k = 0; k < 4 && ok; k++)
			for (int i = 0; i < n && ok; i++)
				ok = port_free(base + k * 100 + i);
		if (ok)
			return base;
	}
	return -1;
}

int harness_nats_mqtt_port(const harness_nats *c, int i) { return c->base + 200 + i; }

static int node_ready(harness_nats *c, int i)
{
	long long deadline = harness_now_ms() + NATS_READY_MS;
	while (harness_now_ms() < deadline) {
		int st;
		if (waitpid(c->pid[i], &st, WNOHANG) == c->pid[i]) {
			harness__fail("nats node %d exited; log %s", i + 1, c->log[i]);
			c->pid[i] = 0;
			return -1;
		}
		if (harness__port_accepts(c->base + i) &&
		    harness__port_accepts(harness_nats_mqtt_port(c, i)))
			return 0;
		harness_nap_ms(HARNESS_POLL_MS * 5);
	}
	harness__fail("nats node %d not ready in %d ms; log %s", i + 1, NATS_READY_MS,
		      c->log[i]);
	return -1;
}

int harness_nats_up(harness_nats *c, int i)
{
	const char *argv[] = {"nats-server", "-c", c->conf[i], NULL};
	c->pid[i] = harness__spawn_to(argv, NULL, c->log[i]);
	if (c->pid[i] <= 0)
		return -1;
	return node_ready(c, i);
}

int harness_nats_kill9(harness_nats *c, int i)
{
	if (c->pid[i] <= 0)
		return -1;
	harness_kill9(c->pid[i]);
	c->pid[i] = 0;
	return 0;
}

/* One MQTT 3.1.1 QoS 1 publish through node 0, retried while JetStream
 * elects its leaders: the server creates its MQTT streams on the first
 * connection. */
static int mqtt_streams(harness_nats *c)
{
	char port[16], cmd[256];
	long long deadline = harness_now_ms() + NATS_READY_MS;
	snprintf(port, sizeof(port), "%d", harness_nats_mqtt_port(c, 0));
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -V mqttv311 -h 127.0.0.1 -p %s -q 1 -t fleet/_setup -n "
		 "-i setup-%d >/dev/null 2>&1",
		 port, (int)getpid());
	while (harness_now_ms() < deadline) {
		if (system(cmd) == 0)
			return 0;
		harness_nap_ms(500);
	}
	harness__fail("the MQTT listener on %s never took a QoS 1 message", port);
	return -1;
}

int harness_nats_start(harness_nats *c, int partitions)
{
	char cmd[PATH_MAX * 4], store[PATH_MAX + 16];
	size_t off = 0, moff = 0;
	memset(c, 0, sizeof(*c));
	c->n = HARNESS_NATS_NODES;
	c->base = pick_base(c->n);
	if (c->base < 0 || harness_tmpdir_new("nats", c->dir, sizeof(c->dir)))
		return -1;
	for (int i = 0; i < c->n; i++) {
		snprintf(c->conf[i], sizeof(c->conf[i]), "%s/n%d.conf", c->dir, i + 1);
		snprintf(c->log[i], sizeof(c->log[i]), "%s/n%d.log", c->dir, i + 1);
		snprintf(store, sizeof(store), "%s/js%d", c->dir, i + 1);
		snprintf(
		    cmd, sizeof(cmd),
		    "scripts/fleet-nats-conf.sh n%d %d '%s' %d 127.0.0.1 %d %d > '%s'",
		    i + 1, i + 1, store, c->base, c->n, partitions, c->conf[i]);
		if (system(cmd) != 0) {
			harness__fail("%s failed (run from the repository root)", cmd);
			return -1;
		}
		off +=
		    (size_t)snprintf(c->servers + off, sizeof(c->servers) - off,
				     "%snats://127.0.0.1:%d", i ? "," : "", c->base + i);
		moff += (size_t)snprintf(c->mqtt + moff, sizeof(c->mqtt) - moff,
					 "%s127.0.0.1:%d", i ? "," : "",
					 harness_nats_mqtt_port(c, i));
	}
	for (int i = 0; i < c->n; i++) {
		const char *argv[] = {"nats-server", "-c", c->conf[i], NULL};
		c->pid[i] = harness__spawn_to(argv, NULL, c->log[i]);
		if (c->pid[i] <= 0)
			return -1;
	}
	for (int i = 0; i < c->n; i++)
		if (node_ready(c, i))
			return -1;
	return mqtt_streams(c);
}

void harness_nats_stop(harness_nats *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->pid[i] > 0) {
			harness_stop(c->pid[i], SIGTERM, 5000);
			c->pid[i] = 0;
		}
	if (c->dir[0])
		harness_rm_tree(c->dir);
	c->dir[0] = 0;
}

/* ---- relay ------------------------------------------------------------------ */

#define RELAY_PAIRS 32

typedef struct relay_pair {
	int a, b; /* client side, target side; -1: free */
} relay_pair;

static int listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	harness__loopback(&a, 0);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	harness__loopback(&a, port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void pair_close(relay_pair *p)
{
	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	p->a = p->b = -1;
}

/* Copy what is readable on from to to; -1 when either side is done. */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

static void *relay_main(void *ud)
{
	harness_relay *r = ud;
	relay_pair pairs[RELAY_PAIRS];
	for (int i = 0; i < RELAY_PAIRS; i++)
		pairs[i].a = pairs[i].b = -1;
	while (!r->stop) {
		struct pollfd pf[HARNESS_RELAY_MAX + 2 * RELAY_PAIRS];
		int n = 0;
		for (int i = 0; i < r->n; i++)
			pf[n++] = (struct pollfd){r->listen_fd[i], POLLIN, 0};
		for (int i = 0; i < RELAY_PAIRS; i++) {
			if (r->cut && pairs[i].a >= 0)
				pair_close(&pairs[i]);
			pf[n++] = (struct pollfd){pairs[i].a, POLLIN, 0};
			pf[n++] = (struct pollfd){pairs[i].b, POLLIN, 0};
		}
		if (poll(pf, (nfds_t)n, 50) <= 0)
			continue;
		for (int i = 0; i < r->n; i++) {
			int fd, t, k;
			if (!(pf[i].revents & POLLIN))
				continue;
			fd = accept4(r->listen_fd[i], NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			for (k = 0; k < RELAY_PAIRS && pairs[k].a >= 0; k++)
				;
			if (r->cut || k == RELAY_PAIRS ||
			    (t = connect_to(r->target[i])) < 0) {
				close(fd);
				continue;
			}
			pairs[k].a = fd;
			pairs[k].b = t;
		}
		for (int i = 0; i < RELAY_PAIRS; i++) {
			struct pollfd *pa = &pf[r->n + 2 * i], *pb = pa + 1;
			if (pairs[i].a < 0)
				continue;
			if (((pa->revents & (POLLIN | POLLHUP | POLLERR)) &&
			     pump(pairs[i].a, pairs[i].b)) ||
			    ((pb->revents & (POLLIN | POLLHUP | POLLERR)) &&
			     pump(pairs[i].b, pairs[i].a)))
				pair_close(&pairs[i]);
		}
	}
	for (int i = 0; i < RELAY_PAIRS; i++)
		pair_close(&pairs[i]);
	return NULL;
}

int harness_relay_start(harness_relay *r, const int *targets, int n)
{
	size_t off = 0;
	memset(r, 0, sizeof(*r));
	if (n < 1 || n > HARNESS_RELAY_MAX)
		return -1;
	r->n = n;
	for (int i = 0; i < n; i++) {
		r->target[i] = targets[i];
		r->listen_fd[i] = listen_any(&r->port[i]);
		if (r->listen_fd[i] < 0) {
			harness__fail("relay: cannot listen: %s", strerror(errno));
			return -1;
		}
		off += (size_t)snprintf(r->addresses + off, sizeof(r->addresses) - off,
					"%s127.0.0.1:%d", i ? "," : "", r->port[i]);
	}
	if (pthread_create(&r->th, NULL, relay_main, r)) {
		harness__fail("relay: no thread");
		return -1;
	}
	r->running = 1;
	return 0;
}

void harness_relay_cut(harness_relay *r, int cut) { r->cut = cut; }

void harness_relay_stop(harness_relay *r)
{
	if (r->running) {
		r->stop = 1;
		pthread_join(r->th, NULL);
		r->running = 0;
	}
	for (int i = 0; i < r->n; i++)
		if (r->listen_fd[i] > 0)
			close(r->listen_fd[i]);
	r->n = 0;
}
