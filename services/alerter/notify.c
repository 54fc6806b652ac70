/* notify — webhook and command-hook delivery of alerts, off the service
 * loop. Each sink is a bounded FIFO drained by its own thread: the loop
 * only mallocs a copy and signals a condition variable, so a dead HTTP
 * server or a hung program can never delay state publication. Waits use
 * a monotonic condition variable, so shutdown interrupts a backoff at once;
 * a POST in progress is aborted by curl's progress callback and a running
 * command is killed, which bounds notify_free() by about one poll tick.
 *
 * The command child gets a socketpair end as stdin rather than a pipe so
 * the parent can write with MSG_NOSIGNAL (no SIGPIPE even where the
 * process has not ignored it, as in unit tests), and runs in its own
 * process group so a timeout kills whatever a shell command started. */
#include "notify.h"

#include "clock.h"
#include "log.h"
#include <stdarg.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_RL_MAX 1024
#define NOTIFY_RL_KEY 112
#define NOTIFY_TICK_MS 10 /* child-exit polling period */

typedef struct notify_item {
	char *json;
	size_t len;
	int64_t enq_ms; /* monotonic, for the webhook's max age */
} notify_item;

typedef struct notify_sink {
	struct notify *owner;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	notify_item *ring;
	size_t cap, head, count;
	int busy;        /* an item is being delivered (under lock) */
	atomic_int stop; /* set once by notify_free */
	metrics_slot *dropped;
} notify_sink;

typedef struct notify_rl {
	char key[NOTIFY_RL_KEY];
	int64_t last_ms;
} notify_rl;

struct notify {
	notify_options o;
	char *url;
	char *command;
	notify_sink web, cmd;
	metrics_slot *web_ok, *web_retried, *web_failed;
	metrics_slot *cmd_ok, *cmd_failed, *cmd_timeout;
	metrics_slot *rate_limited;
	notify_rl *rl;
	size_t n_rl;
};

void notify_options_default(notify_options *o)
{
	memset(o, 0, sizeof(*o));
	o->webhook_timeout_ms = 5000;
	o->webhook_max_attempts = 10;
	o->webhook_max_age_ms = 600000;
	o->webhook_backoff_min_ms = 500;
	o->webhook_backoff_max_ms = 30000;
	o->command_timeout_ms = 10000;
	o->queue_max = 256;
	o->rate_limit_s = 0;
}

/* Format one outcome line and hand it to the report callback, if any. */
static void notify__report(const notify *n, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notify__report(const notify *n, int level, const char *fmt, ...)
{
	char line[320];
	va_list ap;
	if (!n->o.report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n->o.report(n->o.report_ud, level, line);
}

/* ---- sink queue ---------------------------------------------------------- */

static int notify__sink_init(notify_sink *s, notify *owner, size_t cap,
			     metrics_slot *dropped)
{
	pthread_condattr_t ca;

	s->owner = owner;
	s->cap = cap;
	s->dropped = dropped;
	atomic_init(&s->stop, 0);
	s->ring = calloc(cap, sizeof(*s->ring));
	if (!s->ring)
		return AM_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

/* Stop the worker, join it, count what it never delivered as dropped. */
static void notify__sink_cleanup(notify_sink *s)
{
	if (!s->ring)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stop, 1);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = 0;
	while (s->count) {
		free(s->ring[s->head].json);
		s->head = (s->head + 1) % s->cap;
		s->count--;
		metrics_add(s->dropped, 1);
	}
	free(s->ring);
	s->ring = NULL;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* Copy json into the sink's queue. 0, or NOTIFY_DROPPED when full. */
static int notify__sink_push(notify_sink *s, const char *json, size_t len)
{
	notify_item it;
	int rc = 0;

	it.json = malloc(len + 1);
	if (!it.json) {
		metrics_add(s->dropped, 1);
		return NOTIFY_DROPPED;
	}
	memcpy(it.json, json, len);
	it.json[len] = '\0';
	it.len = len;
	it.enq_ms = clock_mono_ms();
	pthread_mutex_lock(&s->lock);
	if (s->count == s->cap || atomic_load(&s->stop)) {
		rc = NOTIFY_DROPPED;
	} else {
		s->ring[(s->head + s->count) % s->cap] = it;
		s->count++;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		free(it.json);
		metrics_add(s->dropped, 1);
	}
	return rc;
}

/* Block until an item is queued (1, *out filled, busy set) or stop (0). */
static int notify__sink_take(notify_sink *s, notify_item *out)
{
	int got = 0;
	pthread_mutex_lock(&s->lock);
	s->busy = 0;
	while (!atomic_load(&s->stop) && s->count == 0)
		pthread_cond_wait(&s->cond, &s->lock);
	if (!atomic_load(&s->stop)) {
		*out = s->ring[s->head];
		s->head = (s->head + 1) % s->cap;
		s->count--;
		s->busy = 1;
		got = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

/* Sleep up to ms on the sink's condition variable. Returns 1 if stop was
 * requested (now or during the wait), else 0. */
static int notify__sink_nap(notify_sink *s, int64_t ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stop)) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	stop = atomic_load(&s->stop);
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* ---- webhook --------------------------------------------------------------- */

static size_t notify__discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* Abort a transfer when the sink is stopping (non-zero return aborts). */
static int notify__progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
			    curl_off_t d)
{
	notify_sink *s = ud;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return atomic_load(&s->stop);
}

/* One POST. Returns 1 delivered, 0 retryable failure, -1 final failure;
 * why (the curl error or the HTTP status) goes into why. */
static int notify__post(CURL *h, const notify_item *it, char *why, size_t whylen)
{
	long code = 0;
	CURLcode rc;

	curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->json);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)it->len);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	snprintf(why, whylen, "HTTP %ld", code);
	if (code >= 200 && code < 300)
		return 1;
	if (code >= 500 || code == 408 || code == 429)
		return 0;
	return -1;
}

/* Deliver one alert: retry with doubling delays until delivered, final,
 * out of attempts or too old. Counts the outcome. */
static void notify__webhook_deliver(notify *n, CURL *h, const notify_item *it)
{
	notify_sink *s = &n->web;
	int64_t delay = n->o.webhook_backoff_min_ms;

	char why[128];

	for (int attempt = 1;; attempt++) {
		int r = notify__post(h, it, why, sizeof(why));
		if (r == 1) {
			metrics_add(n->web_ok, 1);
			notify__report(n, LOG_LVL_INFO,
				       "webhook: delivered (attempt %d, %s)", attempt,
				       why);
			return;
		}
		if (r < 0 || attempt >= n->o.webhook_max_attempts ||
		    atomic_load(&s->stop) ||
		    clock_mono_ms() + delay - it->enq_ms > n->o.webhook_max_age_ms) {
			metrics_add(n->web_failed, 1);
			notify__report(
			    n, LOG_LVL_ERROR,
			    "webhook: giving up on an alert after %d attempt(s): %s",
			    attempt, why);
			return;
		}
		metrics_add(n->web_retried, 1);
		notify__report(n, LOG_LVL_WARN,
			       "webhook: attempt %d failed: %s; retry in %lld ms",
			       attempt, why, (long long)delay);
		if (notify__sink_nap(s, delay)) {
			metrics_add(n->web_failed, 1);
			return;
		}
		delay *= 2;
		if (delay > n->o.webhook_backoff_max_ms)
			delay = n->o.webhook_backoff_max_ms;
	}
}

static void *notify__webhook_main(void *ud)
{
	notify *n = ud;
	notify_sink *s = &n->web;
	struct curl_slist *hdrs = NULL;
	notify_item it;
	CURL *h = curl_easy_init();

	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (h) {
		curl_easy_setopt(h, CURLOPT_URL, n->url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, n->o.webhook_timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, n->o.webhook_timeout_ms);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "anomesh-alerter/1");
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, notify__discard);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, notify__progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	}
	while (notify__sink_take(s, &it)) {
		if (h)
			notify__webhook_deliver(n, h, &it);
		else
			metrics_add(n->web_failed, 1);
		free(it.json);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- command hook ------------------------------------------------------------ */

/* In the child, between fork and exec: async-signal-safe calls only. */
static void notify__child(int in_fd, char *const argv[])
{
	struct sigaction sa;
	sigset_t none;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0)
		_exit(127);
#ifdef SYS_close_range
	syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
	execvp(argv[0], argv);
	_exit(127);
}

/* Write the whole payload to fd before deadline_ms (non-blocking socket). */
static void notify__feed(int fd, const char *p, size_t len, int64_t deadline_ms)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT, .revents = 0};
			int64_t left = deadline_ms - clock_mono_ms();
			if (left <= 0 || poll(&pf, 1, (int)(left > 100 ? 100 : left)) < 0)
				return;
			continue;
		}
		return; /* EPIPE: the program does not read its stdin; fine */
	}
}

/* Run the command once with it->json on stdin. Counts the outcome. */
static void notify__command_run(notify *n, const notify_item *it)
{
	notify_sink *s = &n->cmd;
	char *argv_sh[] = {"/bin/sh", "-c", n->command, NULL};
	char *argv_one[] = {n->command, NULL};
	int64_t deadline = clock_mono_ms() + n->o.command_timeout_ms;
	int sv[2], status = 0, done = 0, timed_out = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		metrics_add(n->cmd_failed, 1);
		return;
	}
	pid = fork();
	if (pid == 0)
		notify__child(sv[1], n->o.command_shell ? argv_sh : argv_one);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		metrics_add(n->cmd_failed, 1);
		return;
	}
	setpgid(pid, pid); /* also here: no race with an early kill */
	notify__feed(sv[0], it->json, it->len, deadline);
	close(sv[0]);
	while (!done) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			done = w == pid ? 1 : -1;
			break;
		}
		if (clock_mono_ms() >= deadline) {
			timed_out = 1;
			break;
		}
		if (notify__sink_nap(s, NOTIFY_TICK_MS))
			break;
	}
	if (!done) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (timed_out) {
		metrics_add(n->cmd_timeout, 1);
		notify__report(n, LOG_LVL_WARN, "command: killed after %ld ms (timeout)",
			       n->o.command_timeout_ms);
	}
	if (done == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		metrics_add(n->cmd_ok, 1);
		notify__report(n, LOG_LVL_DEBUG, "command: exited 0");
		return;
	}
	metrics_add(n->cmd_failed, 1);
	if (done == 1 && WIFEXITED(status))
		notify__report(n, LOG_LVL_WARN, "command: exited with status %d%s",
			       WEXITSTATUS(status),
			       WEXITSTATUS(status) == 127 ? " (not found?)" : "");
	else if (done == 1 && WIFSIGNALED(status))
		notify__report(n, LOG_LVL_WARN, "command: killed by signal %d",
			       WTERMSIG(status));
}

static void *notify__command_main(void *ud)
{
	notify *n = ud;
	notify_item it;

	while (notify__sink_take(&n->cmd, &it)) {
		notify__command_run(n, &it);
		free(it.json);
	}
	return NULL;
}

/* ---- public ------------------------------------------------------------------ */

static char *notify__dup(const char *s) { return (s && *s) ? strdup(s) : NULL; }

notify *notify_new(const notify_options *o, metrics *m, char *err, size_t errlen)
{
	notify *n;
	static atomic_int curl_ready;

	if (!o || o->queue_max == 0 || o->queue_max > 100000 ||
	    o->webhook_max_attempts < 1 || o->webhook_timeout_ms <= 0 ||
	    o->command_timeout_ms <= 0 || o->webhook_backoff_min_ms <= 0 ||
	    o->webhook_backoff_max_ms <= 0 || o->rate_limit_s < 0) {
		snprintf(err, errlen, "invalid notify options");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto nomem;
	n->o = *o;
	n->url = notify__dup(o->webhook_url);
	n->command = notify__dup(o->command);
	n->o.webhook_url = n->url;
	n->o.command = n->command;
	if ((o->webhook_url && *o->webhook_url && !n->url) ||
	    (o->command && *o->command && !n->command))
		goto nomem;
	n->web_ok = metrics_get(m, "webhook_ok");
	n->web_retried = metrics_get(m, "webhook_retried");
	n->web_failed = metrics_get(m, "webhook_failed");
	n->cmd_ok = metrics_get(m, "command_ok");
	n->cmd_failed = metrics_get(m, "command_failed");
	n->cmd_timeout = metrics_get(m, "command_timeout");
	n->rate_limited = metrics_get(m, "notify_rate_limited");
	n->rl = calloc(NOTIFY_RL_MAX, sizeof(*n->rl));
	if (!n->rl)
		goto nomem;
	if (n->url) {
		if (!atomic_exchange(&curl_ready, 1) &&
		    curl_global_init(CURL_GLOBAL_DEFAULT)) {
			atomic_store(&curl_ready, 0);
			snprintf(err, errlen, "libcurl initialisation failed");
			notify_free(n);
			return NULL;
		}
		if (notify__sink_init(&n->web, n, o->queue_max,
				      metrics_get(m, "webhook_dropped")))
			goto nomem;
		if (pthread_create(&n->web.thread, NULL, notify__webhook_main, n)) {
			snprintf(err, errlen, "cannot start the webhook thread");
			notify_free(n);
			return NULL;
		}
		n->web.started = 1;
	}
	if (n->command) {
		if (notify__sink_init(&n->cmd, n, o->queue_max,
				      metrics_get(m, "command_dropped")))
			goto nomem;
		if (pthread_create(&n->cmd.thread, NULL, notify__command_main, n)) {
			snprintf(err, errlen, "cannot start the command thread");
			notify_free(n);
			return NULL;
		}
		n->cmd.started = 1;
	}
	return n;
nomem:
	snprintf(err, errlen, "out of memory");
	notify_free(n);
	return NULL;
}

void notify_free(notify *n)
{
	if (!n)
		return;
	notify__sink_cleanup(&n->web);
	notify__sink_cleanup(&n->cmd);
	free(n->rl);
	free(n->url);
	free(n->command);
	free(n);
}

/* 1 if (sensor, transition) was notified less than rate_limit_s ago;
 * otherwise records now and returns 0. The table is bounded: when full,
 * the least recently notified key is forgotten. */
static int notify__limited(notify *n, const char *sensor, const char *transition,
			   int64_t now_ms)
{
	char key[NOTIFY_RL_KEY];
	size_t victim = 0;
	int64_t window = n->o.rate_limit_s * 1000;

	if (window <= 0)
		return 0;
	snprintf(key, sizeof(key), "%s|%s", sensor, transition);
	for (size_t i = 0; i < n->n_rl; i++) {
		if (strcmp(n->rl[i].key, key) == 0) {
			if (now_ms - n->rl[i].last_ms < window)
				return 1;
			n->rl[i].last_ms = now_ms;
			return 0;
		}
		if (n->rl[i].last_ms < n->rl[victim].last_ms)
			victim = i;
	}
	if (n->n_rl < NOTIFY_RL_MAX)
		victim = n->n_rl++;
	memcpy(n->rl[victim].key, key, sizeof(key));
	n->rl[victim].last_ms = now_ms;
	return 0;
}

int notify_alert(notify *n, const char *sensor, const char *transition, const char *json,
		 size_t len, int64_t now_ms)
{
	int rc = NOTIFY_QUEUED;

	if (!n || !sensor || !transition || !json || len == 0 || len > NOTIFY_JSON_MAX)
		return AM_EINVAL;
	if (!n->url && !n->command)
		return NOTIFY_QUEUED;
	if (notify__limited(n, sensor, transition, now_ms)) {
		metrics_add(n->rate_limited, 1);
		return NOTIFY_LIMITED;
	}
	if (n->url && notify__sink_push(&n->web, json, len))
		rc = NOTIFY_DROPPED;
	if (n->command && notify__sink_push(&n->cmd, json, len))
		rc = NOTIFY_DROPPED;
	return rc;
}

static size_t notify__sink_pending(notify_sink *s)
{
	size_t k;
	if (!s->ring)
		return 0;
	pthread_mutex_lock(&s->lock);
	k = s->count + (size_t)s->busy;
	pthread_mutex_unlock(&s->lock);
	return k;
}

size_t notify_pending(notify *n)
{
	return n ? notify__sink_pending(&n->web) + notify__sink_pending(&n->cmd) : 0;
}

int notify_has_webhook(const notify *n) { return n && n->url; }
int notify_has_command(const notify *n) { return n && n->command; }
