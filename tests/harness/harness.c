/* harness — a real broker, child processes and a collecting subscriber for
 * the integration tests (see harness.h).
 *
 * Process hygiene: everything a child needs (argv path, environment, log
 * file) is prepared before fork(), so the child, forked from a process that
 * runs Paho's threads, only calls async-signal-safe functions before
 * execve(). Children get PR_SET_PDEATHSIG so a crashed or timed-out test
 * leaves no broker behind. Readiness is polled (TCP connect, waitpid with
 * WNOHANG) at short intervals against a deadline. */
#include "harness.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POLL_MS 10
#define BROKER_READY_MS 10000
#define BROKER_STOP_MS 5000
#define PORT_TRIES 8

/* ---- small helpers --------------------------------------------------------- */

long long harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

void harness_nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Strings handed out for the life of the process, freed at exit. */
typedef struct interned {
	struct interned *next;
	char s[];
} interned;
static interned *interned_list;
static pthread_mutex_t interned_lock = PTHREAD_MUTEX_INITIALIZER;
static char tmpdir_path[PATH_MAX];
static pid_t tmpdir_owner;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	if (dir[0] && !getenv("ANOMESH_KEEP_TMP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void harness_atexit(void)
{
	interned *i, *n;
	if (tmpdir_path[0] && tmpdir_owner == getpid())
		rm_tree(tmpdir_path);
	for (i = interned_list; i; i = n) {
		n = i->next;
		free(i);
	}
	interned_list = NULL;
}

static int atexit_done;

static const char *intern(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *intern(const char *fmt, ...)
{
	va_list ap;
	int n;
	interned *i;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	i = malloc(sizeof(*i) + (size_t)n + 1);
	if (!i)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(i->s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&interned_lock);
	if (!atexit_done) {
		atexit(harness_atexit);
		atexit_done = 1;
	}
	i->next = interned_list;
	interned_list = i;
	pthread_mutex_unlock(&interned_lock);
	return i->s;
}

const char *harness_bin(const char *name)
{
	const char *d = getenv("ANOMESH_BIN");
	return intern("%s/%s", d && *d ? d : "bin", name);
}

const char *harness_shared(const char *rel)
{
	const char *d = getenv("ANOMESH_SHARED");
	return intern("%s/%s", d && *d ? d : "../shared", rel);
}

const char *harness_tmpdir(void)
{
	pthread_mutex_lock(&interned_lock);
	if (!tmpdir_path[0] || tmpdir_owner != getpid()) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/anomesh-test-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir_path)) {
			fail_msg("mkdtemp %s: %s", tmpdir_path, strerror(errno));
			tmpdir_path[0] = '\0';
			pthread_mutex_unlock(&interned_lock);
			return NULL;
		}
		tmpdir_owner = getpid();
		if (!atexit_done) {
			atexit(harness_atexit);
			atexit_done = 1;
		}
	}
	pthread_mutex_unlock(&interned_lock);
	return tmpdir_path;
}

/* Full path of an executable: as given if it has a '/', else searched in
 * PATH, then /usr/sbin and /sbin (mosquitto lives there). */
static int find_exe(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char buf[4096];
	char *save = NULL;

	if (strchr(name, '/')) {
		snprintf(out, outlen, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	snprintf(buf, sizeof(buf), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(out, outlen, "%s/%s", *d ? d : ".", name) >= outlen)
			continue;
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* fork/exec with everything prepared beforehand; log opened for append. */
static pid_t spawn_to(const char *const argv[], const char *const env_extra[],
		      const char *log_path)
{
	char exe[PATH_MAX];
	size_t nenv = 0, nextra = 0, k = 0;
	char **envp;
	pid_t parent = getpid(), pid;
	int fd, devnull;

	if (!argv || !argv[0] || find_exe(argv[0], exe, sizeof(exe)) != 0) {
		fail_msg("cannot find executable '%s'",
			 argv && argv[0] ? argv[0] : "(null)");
		return -1;
	}
	while (environ[nenv])
		nenv++;
	while (env_extra && env_extra[nextra])
		nextra++;
	envp = calloc(nenv + nextra + 1, sizeof(*envp));
	if (!envp)
		return -1;
	/* extras override inherited variables of the same name */
	for (size_t i = 0; i < nenv; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int overridden = 0;
		for (size_t j = 0; j < nextra; j++)
			if (strncmp(env_extra[j], environ[i], nl) == 0 &&
			    env_extra[j][nl] == '=')
				overridden = 1;
		if (!overridden)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < nextra; j++)
		envp[k++] = (char *)env_extra[j];
	envp[k] = NULL;

	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || devnull < 0) {
		fail_msg("open %s: %s", log_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (devnull >= 0)
			close(devnull);
		free(envp);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* child: async-signal-safe calls only */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(devnull, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execve(exe, (char *const *)argv, envp);
		_exit(127);
	}
	close(fd);
	close(devnull);
	free(envp);
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	return pid;
}

pid_t harness_spawn(const char *const argv[], const char *const env_extra[],
		    char *log_path, size_t log_len)
{
	static int seq;
	const char *dir = harness_tmpdir();
	const char *base;
	char path[PATH_MAX];

	if (!dir || !argv || !argv[0])
		return -1;
	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	snprintf(path, sizeof(path), "%s/%s-%d.log", dir, base, ++seq);
	if (log_path && log_len)
		snprintf(log_path, log_len, "%s", path);
	return spawn_to(argv, env_extra, path);
}

int harness_wait_exit(pid_t pid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (harness_now_ms() >= deadline)
			return -1;
		harness_nap_ms(POLL_MS);
	}
}

int harness_stop(pid_t pid, int sig, int deadline_ms)
{
	int st;
	if (pid <= 0)
		return -1;
	if (kill(pid, sig) != 0 && errno != ESRCH)
		return -1;
	st = harness_wait_exit(pid, deadline_ms);
	if (st != -1)
		return st;
	fail_msg("pid %d ignored signal %d for %d ms: SIGKILL", (int)pid, sig,
		 deadline_ms);
	return harness_kill9(pid);
}

int harness_kill9(pid_t pid)
{
	int st;
	if (pid <= 0)
		return -1;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return st;
}

/* ---- broker ---------------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int port = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int port_accepts(int port)
{
	struct sockaddr_in a;
	int ok;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int write_conf(harness_broker *b, const char *extra)
{
	FILE *f = fopen(b->conf, "w");
	if (!f) {
		fail_msg("cannot write %s: %s", b->conf, strerror(errno));
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
	long long deadline = harness_now_ms() + BROKER_READY_MS;
	pid_t pid = spawn_to(argv, NULL, b->log);
	if (pid < 0)
		return -2;
	for (;;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fail_msg(
			    "mosquitto on port %d exited at start (status %d), see %s",
			    b->port, st, b->log);
			return -1;
		}
		if (port_accepts(b->port) && waitpid(pid, &st, WNOHANG) == 0) {
			b->pid = pid;
			return 0;
		}
		if (harness_now_ms() >= deadline) {
			fail_msg("mosquitto on port %d not ready after %d ms, see %s",
				 b->port, BROKER_READY_MS, b->log);
			harness_kill9(pid);
			return -2;
		}
		harness_nap_ms(POLL_MS);
	}
}

int harness_broker_start(harness_broker *b, const char *extra_conf)
{
	const char *t = getenv("TMPDIR");
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "%s/anomesh-broker-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(b->dir)) {
		fail_msg("mkdtemp: %s", strerror(errno));
		b->dir[0] = '\0';
		return -1;
	}
	if ((size_t)snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir) >=
		sizeof(b->conf) ||
	    (size_t)snprintf(b->log, sizeof(b->log), "%s/mosquitto.log", b->dir) >=
		sizeof(b->log)) {
		fail_msg("temp dir path too long");
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
	fail_msg("could not start mosquitto");
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
	long long deadline = harness_now_ms() + BROKER_READY_MS;
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
		rm_tree(b->dir);
	b->dir[0] = '\0';
	b->port = 0;
}

/* ---- collecting subscriber ----------------------------------------------------- */

struct harness_sub {
	MQTTAsync h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	harness_msg *msgs;
	size_t n, cap;
	char *filter;
	int persistent;
	int connected;
	int subscribed; /* 1 acked, -1 refused */
	int ever_subscribed;
	int disconnected_done;
};

static void sub_signal(harness_sub *s) { pthread_cond_broadcast(&s->cond); }

static int sub_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	harness_sub *s = ctx;
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t pl = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	harness_msg hm;

	hm.topic = malloc(tl + 1);
	hm.payload = malloc(pl + 1);
	if (!hm.topic || !hm.payload) {
		free(hm.topic);
		free(hm.payload);
		return 0;
	}
	memcpy(hm.topic, topic, tl);
	hm.topic[tl] = '\0';
	if (pl)
		memcpy(hm.payload, m->payload, pl);
	hm.payload[pl] = '\0';
	hm.len = pl;
	hm.qos = m->qos;
	hm.retained = m->retained;

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		harness_msg *nm = realloc(s->msgs, nc * sizeof(*nm));
		if (!nm) {
			pthread_mutex_unlock(&s->lock);
			free(hm.topic);
			free(hm.payload);
			return 0;
		}
		s->msgs = nm;
		s->cap = nc;
	}
	s->msgs[s->n++] = hm;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void sub_ok(void *ctx, MQTTAsync_successData5 *r)
{
	harness_sub *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->subscribed = r && r->reasonCode >= 0x80 ? -1 : 1;
	if (s->subscribed == 1)
		s->ever_subscribed = 1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static void sub_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	harness_sub *s = ctx;
	(void)r;
	pthread_mutex_lock(&s->lock);
	s->subscribed = -1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static int sub_subscribe(harness_sub *s)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = sub_ok;
	ro.onFailure5 = sub_fail;
	ro.context = s;
	return MQTTAsync_subscribe(s->h, s->filter, 1, &ro);
}

static void sub_connected(void *ctx, char *cause)
{
	harness_sub *s = ctx;
	int resub;
	(void)cause;
	pthread_mutex_lock(&s->lock);
	s->connected = 1;
	/* a persistent session keeps its subscription across reconnects */
	resub = s->ever_subscribed && !s->persistent;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
	if (resub)
		sub_subscribe(s);
}

static void sub_lost(void *ctx, char *cause)
{
	harness_sub *s = ctx;
	(void)cause;
	pthread_mutex_lock(&s->lock);
	s->connected = 0;
	pthread_mutex_unlock(&s->lock);
}

static void sub_disc_ok(void *ctx, MQTTAsync_successData5 *r)
{
	harness_sub *s = ctx;
	(void)r;
	pthread_mutex_lock(&s->lock);
	s->disconnected_done = 1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static void sub_disc_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	(void)r;
	sub_disc_ok(ctx, NULL);
}

/* Wait under s->lock for *flag != 0, at most until deadline. */
static int sub_wait_flag(harness_sub *s, const int *flag, long long deadline)
{
	while (!*flag) {
		long long now = harness_now_ms();
		struct timespec ts;
		if (now >= deadline)
			return 0;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	return 1;
}

harness_sub *harness_sub_new(const char *uri, const char *filter, const char *client_id,
			     int persistent)
{
	static int seq;
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer5;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty p;
	pthread_condattr_t ca;
	char idbuf[96];
	harness_sub *s;
	long long deadline = harness_now_ms() + BROKER_READY_MS;
	int ok;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->filter = strdup(filter);
	s->persistent = persistent;
	if (!client_id) {
		snprintf(idbuf, sizeof(idbuf), "harness-sub-%d-%d", (int)getpid(), ++seq);
		client_id = idbuf;
	}
	if (!s->filter || MQTTAsync_createWithOptions(&s->h, uri, client_id,
						      MQTTCLIENT_PERSISTENCE_NONE, NULL,
						      &co) != MQTTASYNC_SUCCESS) {
		fail_msg("sub: cannot create client for %s", uri);
		free(s->filter);
		free(s);
		return NULL;
	}
	MQTTAsync_setCallbacks(s->h, s, sub_lost, sub_arrived, NULL);
	MQTTAsync_setConnected(s->h, s, sub_connected);
	cn.keepAliveInterval = 20;
	cn.cleanstart = !persistent;
	cn.automaticReconnect = 1;
	cn.minRetryInterval = 1;
	cn.maxRetryInterval = 1;
	cn.connectTimeout = 5;
	if (persistent) {
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = 3600;
		MQTTProperties_add(&props, &p);
		cn.connectProperties = &props;
	}
	if (MQTTAsync_connect(s->h, &cn) != MQTTASYNC_SUCCESS) {
		fail_msg("sub: connect to %s refused", uri);
		MQTTProperties_free(&props);
		harness_sub_free(s);
		return NULL;
	}
	MQTTProperties_free(&props);
	pthread_mutex_lock(&s->lock);
	ok = sub_wait_flag(s, &s->connected, deadline);
	pthread_mutex_unlock(&s->lock);
	if (!ok || sub_subscribe(s) != MQTTASYNC_SUCCESS) {
		fail_msg("sub: not connected to %s", uri);
		harness_sub_free(s);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	ok = sub_wait_flag(s, &s->subscribed, deadline) && s->subscribed == 1;
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		fail_msg("sub: subscription to '%s' not acknowledged", filter);
		harness_sub_free(s);
		return NULL;
	}
	return s;
}

void harness_msg_cleanup(harness_msg *m)
{
	if (!m)
		return;
	free(m->topic);
	free(m->payload);
	m->topic = NULL;
	m->payload = NULL;
}

void harness_sub_clear(harness_sub *s)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		harness_msg_cleanup(&s->msgs[i]);
	s->n = 0;
	pthread_mutex_unlock(&s->lock);
}

void harness_sub_free(harness_sub *s)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
	if (!s)
		return;
	d.timeout = 1000;
	d.onSuccess5 = sub_disc_ok;
	d.onFailure5 = sub_disc_fail;
	d.context = s;
	if (MQTTAsync_disconnect(s->h, &d) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&s->lock);
		sub_wait_flag(s, &s->disconnected_done, harness_now_ms() + 3000);
		pthread_mutex_unlock(&s->lock);
	}
	MQTTAsync_destroy(&s->h);
	harness_sub_clear(s);
	free(s->msgs);
	free(s->filter);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int harness_sub_wait(harness_sub *s, harness_pred pred, void *ud, size_t count,
		     int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	int ok = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct timespec ts;
		ok = pred ? pred(s->msgs, s->n, ud) : s->n >= count;
		if (ok || harness_now_ms() >= deadline)
			break;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return ok ? 0 : -1;
}

typedef struct topic_query {
	const char *topic;
	const char *contains;
	long found;
} topic_query;

static int topic_pred(const harness_msg *msgs, size_t n, void *ud)
{
	topic_query *q = ud;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(msgs[i].topic, q->topic) == 0 &&
		    (!q->contains || strstr(msgs[i].payload, q->contains))) {
			q->found = (long)i;
			return 1;
		}
	}
	return 0;
}

long harness_sub_wait_topic(harness_sub *s, const char *topic, const char *contains,
			    int timeout_ms)
{
	topic_query q = {topic, contains, -1};
	if (harness_sub_wait(s, topic_pred, &q, 0, timeout_ms) != 0)
		return -1;
	return q.found;
}

size_t harness_sub_count(harness_sub *s)
{
	size_t n;
	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int harness_sub_get(harness_sub *s, size_t i, harness_msg *out)
{
	int rc = -1;
	pthread_mutex_lock(&s->lock);
	if (i < s->n) {
		const harness_msg *m = &s->msgs[i];
		out->topic = strdup(m->topic);
		out->payload = malloc(m->len + 1);
		if (out->topic && out->payload) {
			memcpy(out->payload, m->payload, m->len + 1);
			out->len = m->len;
			out->qos = m->qos;
			out->retained = m->retained;
			rc = 0;
		} else {
			harness_msg_cleanup(out);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int harness_sub_connected(harness_sub *s)
{
	int c;
	pthread_mutex_lock(&s->lock);
	c = s->connected;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct harness_metric_want {
	const char *topic;
	const char *name;
	long long min;
	long long value; /* latest seen, -1: none */
} harness_metric_want;

/* Latest numeric value of name in the messages on topic, -1 if none. */
static long long harness__metric_latest(const harness_msg *msgs, size_t n,
					const char *topic, const char *name)
{
	for (size_t i = n; i-- > 0;) {
		cJSON *j;
		const cJSON *v;
		long long val;
		if (strcmp(msgs[i].topic, topic) != 0)
			continue;
		j = cJSON_ParseWithLength(msgs[i].payload, msgs[i].len);
		v = j ? cJSON_GetObjectItemCaseSensitive(j, name) : NULL;
		val = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
		cJSON_Delete(j);
		return val;
	}
	return -1;
}

static int harness__metric_pred(const harness_msg *msgs, size_t n, void *ud)
{
	harness_metric_want *w = ud;
	w->value = harness__metric_latest(msgs, n, w->topic, w->name);
	return w->value >= w->min;
}

int harness_sub_wait_metric(harness_sub *s, const char *topic, const char *name,
			    long long min, int timeout_ms, long long *value)
{
	harness_metric_want w = {topic, name, min, -1};
	int rc = harness_sub_wait(s, harness__metric_pred, &w, 0, timeout_ms);
	if (value)
		*value = w.value;
	return rc;
}
