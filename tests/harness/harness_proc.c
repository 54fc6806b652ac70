/* harness_proc — child processes for the integration tests (see harness.h):
 * spawned with a log file, stopped by pid with a deadline, and the clock
 * the tests poll against.
 *
 * Everything a child needs (argv path, environment, log file) is prepared
 * before fork(), so the child, forked from a process that runs Paho's
 * threads, only calls async-signal-safe functions before execve(). Children
 * get PR_SET_PDEATHSIG so a crashed or timed-out test leaves nothing
 * behind. Exits are polled (waitpid with WNOHANG) against a deadline. */
#include "harness.h"
#include "harness_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

void harness__fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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

pid_t harness__spawn_to(const char *const argv[], const char *const env_extra[],
			const char *log_path)
{
	char exe[PATH_MAX];
	size_t nenv = 0, nextra = 0, k = 0;
	char **envp;
	pid_t parent = getpid(), pid;
	int fd, devnull;

	if (!argv || !argv[0] || find_exe(argv[0], exe, sizeof(exe)) != 0) {
		harness__fail("cannot find executable '%s'",
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
		harness__fail("open %s: %s", log_path, strerror(errno));
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
		harness__fail("fork: %s", strerror(errno));
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
	return harness__spawn_to(argv, env_extra, path);
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
		harness_nap_ms(HARNESS_POLL_MS);
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
	harness__fail("pid %d ignored signal %d for %d ms: SIGKILL", (int)pid, sig,
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

int harness_exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Field 41 of /proc/pid/task/tid/stat, after the ")" that ends the name. */
int harness_thread_policy(pid_t pid, int *threads)
{
	char path[64], line[1024];
	int policy = -2;
	DIR *d;
	struct dirent *e;

	*threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		char tp[352], *p;
		FILE *f;
		int v = -1;
		if (e->d_name[0] == '.')
			continue;
		snprintf(tp, sizeof(tp), "%s/%s/stat", path, e->d_name);
		if (!(f = fopen(tp, "r")))
			continue;
		if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')'))) {
			/* after ")": field 3 on; the policy is field 41 */
			int field = 2;
			for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
				if (++field == 41)
					v = atoi(t);
		}
		fclose(f);
		if (policy != -2 && v != policy)
			policy = -1;
		else if (policy == -2)
			policy = v;
		++*threads;
	}
	closedir(d);
	return policy == -2 ? -1 : policy;
}
