/* A tiny HTTP/1.1 server for the alerter's webhook tests, run on a thread of
 * the test process on a loopback port. It answers every request with the
 * status the test sets (fail_status, 503 unless set, for the first
 * fail_left requests, then status)
 * and keeps the bodies of the requests it answered 2xx, so a test can check
 * what was delivered. Header-only (static functions) so that the unit test
 * of notify and the alerter's integration test share it without a library.
 *
 * Ownership: the test embeds the httpd; httpd_stop() joins the thread and
 * closes the socket (safe to call twice). */
#ifndef ANOMESH_TEST_ALERTER_HTTPD_H
#define ANOMESH_TEST_ALERTER_HTTPD_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPD_BODIES 64
#define HTTPD_BODY_MAX 4096

typedef struct httpd {
	int fd;
	int port;
	pthread_t thread;
	int running;
	atomic_int stop;
	pthread_mutex_t lock;
	int status;      /* answer for requests after fail_left (default 200) */
	int fail_left;   /* answer fail_status to this many requests first */
	int fail_status; /* 503 unless the test sets another */
	int n_requests;
	int n_ok;
	int saw_post_json; /* every request was a POST with application/json */
	char bodies[HTTPD_BODIES][HTTPD_BODY_MAX];
} httpd;

/* A loopback port that was free a moment ago (bind to 0, read, close):
 * for "the server is down now, starts later on this port". */
static int httpd_pick_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int port = -1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Read one request (headers + Content-Length body) and answer it. */
static void httpd__serve(httpd *h, int c)
{
	char req[HTTPD_BODY_MAX + 2048];
	size_t got = 0;
	char *body = NULL;
	long clen = 0;
	int status;
	char resp[160];

	for (;;) {
		struct pollfd pf = {.fd = c, .events = POLLIN, .revents = 0};
		ssize_t r;
		if (poll(&pf, 1, 2000) <= 0)
			break;
		r = read(c, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (!body) {
			char *e = strstr(req, "\r\n\r\n");
			char *cl = strcasestr(req, "Content-Length:");
			if (!e)
				continue;
			body = e + 4;
			clen = cl ? strtol(cl + 15, NULL, 10) : 0;
		}
		if (body && (long)(got - (size_t)(body - req)) >= clen)
			break;
		if (got == sizeof(req) - 1)
			break;
	}
	if (!body)
		return;
	pthread_mutex_lock(&h->lock);
	if (strncmp(req, "POST ", 5) != 0 ||
	    !strcasestr(req, "Content-Type: application/json"))
		h->saw_post_json = 0;
	h->n_requests++;
	if (h->fail_left > 0) {
		h->fail_left--;
		status = h->fail_status;
	} else {
		status = h->status;
	}
	if (status >= 200 && status < 300) {
		if (h->n_ok < HTTPD_BODIES)
			snprintf(h->bodies[h->n_ok], HTTPD_BODY_MAX, "%.*s", (int)clen,
				 body);
		h->n_ok++;
	}
	pthread_mutex_unlock(&h->lock);
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
		 status);
	if (write(c, resp, strlen(resp)) < 0) {
		/* the client gave up; nothing to do */
	}
}

static void *httpd__main(void *ud)
{
	httpd *h = ud;
	while (!atomic_load(&h->stop)) {
		struct pollfd pf = {.fd = h->fd, .events = POLLIN, .revents = 0};
		int c;
		if (poll(&pf, 1, 20) <= 0)
			continue;
		c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		httpd__serve(h, c);
		close(c);
	}
	return NULL;
}

/* Listen on 127.0.0.1:port (0: any free port; h->port tells) and serve.
 * Returns 0 or -1. */
static int httpd_start(httpd *h, int port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	memset(h, 0, sizeof(*h));
	h->status = 200;
	h->fail_status = 503;
	h->saw_post_json = 1;
	pthread_mutex_init(&h->lock, NULL);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -1;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) || listen(h->fd, 16) ||
	    getsockname(h->fd, (struct sockaddr *)&a, &al)) {
		close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->port = ntohs(a.sin_port);
	atomic_init(&h->stop, 0);
	if (pthread_create(&h->thread, NULL, httpd__main, h)) {
		close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->running = 1;
	return 0;
}

static void httpd_stop(httpd *h)
{
	if (!h->running)
		return;
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	close(h->fd);
	h->fd = -1;
	h->running = 0;
	pthread_mutex_destroy(&h->lock);
}

/* Snapshot of the counters under the lock. */
static int httpd_ok(httpd *h)
{
	int n;
	pthread_mutex_lock(&h->lock);
	n = h->n_ok;
	pthread_mutex_unlock(&h->lock);
	return n;
}

#endif
