/* lpms-emu — an LPMS-B2 emulator speaking LPBUS over TCP or a pty, for
 * development, tests and benchmarks without the sensor (protocol in emu.c).
 *
 * One host at a time, as over Bluetooth SPP: a new TCP connection replaces
 * the old one. Frames are paced by the monotonic clock (--speed N runs N x
 * faster; injected stalls are wall time, not scaled); the sensor's timeline
 * runs while it streams whether or not a host is connected, so a host that
 * was away sees a gap in the timestamps, as with the real sensor. Faults:
 * --corrupt-rate, --drop-rate, --stall-ms/--stall-every, --disconnect-every,
 * all drawn from --seed. */
#include "emu.h"

#include "clock.h"
#include "csv.h"
#include "log.h"
#include "signals.h"
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define OUT_CAP (64 * 1024)

typedef struct emu_srv {
	long port, rate, mask, id, seed, stall_ms, stall_every, disconnect_every;
	int pty, loop, int16, start_streaming;
	double speed, corrupt_rate, drop_rate;
	char *bind, *port_file, *pty_file, *replay;
	int lfd, cfd, pty_slave;
	uint8_t out[OUT_CAP];
	size_t out_len;
	uint64_t conn_frames, overflow, connections;
} emu_srv;

/* Write text to path atomically (tmp + rename) so a poller never reads half. */
static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int srv_listen(emu_srv *s)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;
	char line[64];
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s->port);
	if (inet_pton(AF_INET, s->bind, &a.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s->lfd, 4) ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al))
		return -1;
	s->port = ntohs(a.sin_port);
	printf("lpms-emu: listening on tcp %s:%ld\n", s->bind, s->port);
	fflush(stdout);
	snprintf(line, sizeof(line), "%ld\n", s->port);
	if (s->port_file && write_file_atomic(s->port_file, line))
		return -1;
	return 0;
}

static int srv_pty(emu_srv *s)
{
	int m, sl;
	char name[256];
	struct termios t;
	if (openpty(&m, &sl, name, NULL, NULL))
		return -1;
	/* raw on both sides; we keep the slave open so the master never sees
	 * a hangup while no host has it open */
	if (tcgetattr(sl, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(sl, TCSANOW, &t);
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	fcntl(m, F_SETFD, FD_CLOEXEC);
	s->cfd = m;
	s->pty_slave = sl;
	printf("lpms-emu: pty %s\n", name);
	fflush(stdout);
	if (s->pty_file) {
		char line[300];
		snprintf(line, sizeof(line), "%s\n", name);
		if (write_file_atomic(s->pty_file, line))
			return -1;
	}
	return 0;
}

static void srv_drop_client(emu_srv *s, emu *e, const char *why)
{
	if (s->pty || s->cfd < 0)
		return;
	log_info("host disconnected (%s) after %llu frames", why,
		 (unsigned long long)s->conn_frames);
	close(s->cfd);
	s->cfd = -1;
	s->out_len = 0;
	lpbus_parser_reset(&e->parser);
}

static void srv_queue(emu_srv *s, const uint8_t *d, size_t n, int droppable)
{
	if (s->cfd < 0 || n == 0)
		return;
	if (s->out_len + n > OUT_CAP) {
		/* the link is not draining: lose data like a full radio buffer */
		if (droppable)
			s->overflow++;
		return;
	}
	memcpy(s->out + s->out_len, d, n);
	s->out_len += n;
}

static void srv_flush(emu_srv *s, emu *e)
{
	while (s->cfd >= 0 && s->out_len > 0) {
		ssize_t w = write(s->cfd, s->out, s->out_len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				srv_drop_client(s, e, strerror(errno));
			return;
		}
		memmove(s->out, s->out + w, s->out_len - (size_t)w);
		s->out_len -= (size_t)w;
	}
}

static void srv_accept(emu_srv *s, emu *e)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
	if (fd < 0)
		return;
	if (s->cfd >= 0)
		srv_drop_client(s, e, "replaced by a new connection");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->cfd = fd;
	s->conn_frames = 0;
	s->connections++;
	log_info("host connected (connection %llu)", (unsigned long long)s->connections);
}

static void srv_read(emu_srv *s, emu *e)
{
	uint8_t in[512], rep[4096];
	ssize_t r = read(s->cfd, in, sizeof(in));
	size_t off = 0;
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR && errno != EIO)) {
		srv_drop_client(s, e, r == 0 ? "closed by host" : strerror(errno));
		return;
	}
	while (r > 0 && off < (size_t)r) {
		size_t rl = 0;
		off += emu_input(e, in + off, (size_t)r - off, rep, sizeof(rep), &rl);
		srv_queue(s, rep, rl, 0);
		if (rl == 0)
			break;
	}
}

static int srv_run(emu_srv *s, emu *e)
{
	int64_t period = (int64_t)((double)emu_period_ns(e) / s->speed), due = 0;
	int was_streaming = 0;
	uint64_t since_stall = 0;
	int announced_end = 0;
	while (!signals_stop_requested()) {
		struct pollfd p[2];
		int np = 0, timeout = 100, li = -1, ci = -1;
		int64_t now = clock_mono_ns();
		if (e->streaming && !was_streaming)
			due = now; /* stream starts now */
		was_streaming = e->streaming;
		period = (int64_t)((double)emu_period_ns(e) / s->speed);
		if (e->streaming && !emu_finished(e)) {
			int burst = 0;
			while (now >= due && burst++ < 1000 && !emu_finished(e)) {
				uint8_t fr[2 * LPBUS_MAX_FRAME];
				size_t fl;
				emu_next_frame(e, fr, sizeof(fr), &fl);
				srv_queue(s, fr, fl, 1);
				due += period;
				s->conn_frames += s->cfd >= 0;
				if (s->stall_every > 0 &&
				    ++since_stall >= (uint64_t)s->stall_every) {
					since_stall = 0;
					/* a link stall: wall time, not scaled */
					due += (int64_t)s->stall_ms * 1000000;
				}
				if (s->disconnect_every > 0 && s->cfd >= 0 &&
				    s->conn_frames >= (uint64_t)s->disconnect_every) {
					srv_flush(s, e);
					srv_drop_client(s, e, "injected disconnect");
				}
			}
			if (due > now) {
				int64_t ms = (due - now + 999999) / 1000000;
				timeout = ms < timeout ? (int)ms : timeout;
			} else {
				timeout = 0;
			}
		} else if (emu_finished(e) && !announced_end) {
			announced_end = 1;
			log_info("recording played to its end (%llu frames); idle",
				 (unsigned long long)e->stats.frames);
		}
		srv_flush(s, e);
		if (s->lfd >= 0) {
			p[np] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
			li = np++;
		}
		if (s->cfd >= 0) {
			p[np] = (struct pollfd){
			    .fd = s->cfd,
			    .events = (short)(POLLIN | (s->out_len ? POLLOUT : 0))};
			ci = np++;
		}
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (li >= 0 && (p[li].revents & POLLIN))
			srv_accept(s, e);
		else if (ci >= 0 && s->cfd >= 0 &&
			 (p[ci].revents & (POLLIN | POLLHUP | POLLERR)))
			srv_read(s, e);
	}
	return 0;
}

int main(int argc, char **argv)
{
	emu_srv s;
	svc sv;
	emu e;
	emu_opts eo;
	csv_table tab;
	lpms_sample *rows = NULL;
	size_t n_rows = 0;
	int rc;
	memset(&s, 0, sizeof(s));
	memset(&tab, 0, sizeof(tab));
	s.lfd = s.cfd = s.pty_slave = -1;
	{
		const config_opt opts[] = {
		    {"listen-port", CONFIG_INT, &s.port, "0", 0, 65535,
		     "TCP port to listen on (0: a free one)", 0, 0},
		    {"bind", CONFIG_STR, &s.bind, "127.0.0.1", 0, -1,
		     "address to listen on", 0, 0},
		    {"port-file", CONFIG_STR, &s.port_file, NULL, 0, -1,
		     "write the TCP port here once listening", 0, 0},
		    {"pty", CONFIG_BOOL, &s.pty, "0", 0, -1,
		     "serve on a pseudo-terminal instead of TCP", 0, 0},
		    {"pty-file", CONFIG_STR, &s.pty_file, NULL, 0, -1,
		     "write the pty's slave path here", 0, 0},
		    {"replay", CONFIG_STR, &s.replay, NULL, 0, -1,
		     "LpmsControl CSV to replay (default: synthetic arm motion)", 0, 0},
		    {"loop", CONFIG_BOOL, &s.loop, "0", 0, -1,
		     "replay the recording in a loop", 0, 0},
		    {"rate", CONFIG_INT, &s.rate, "50", 5, 400,
		     "initial stream rate, Hz (5,10,25,50,100,200,400)", 0, 0},
		    {"mask", CONFIG_INT, &s.mask, "0x261C00", 0, 0xffffffff,
		     "initial output mask (config register bits)", 0, 0},
		    {"int16", CONFIG_BOOL, &s.int16, "0", 0, -1,
		     "start in 16-bit data mode", 0, 0},
		    {"id", CONFIG_INT, &s.id, "1", 0, 65535, "sensor id", 0, 0},
		    {"start-streaming", CONFIG_BOOL, &s.start_streaming, "1", 0, -1,
		     "power on in stream mode (as the sensor does)", 0, 0},
		    {"speed", CONFIG_DBL, &s.speed, "1", 0.01, 1000,
		     "run N times faster than real time", 0, 0},
		    {"seed", CONFIG_INT, &s.seed, "1", 0, 0xffffffff,
		     "seed of the fault generator", 0, 0},
		    {"corrupt-rate", CONFIG_DBL, &s.corrupt_rate, "0", 0, 1,
		     "probability a data frame is damaged", 0, 0},
		    {"drop-rate", CONFIG_DBL, &s.drop_rate, "0", 0, 1,
		     "probability a data frame is not sent", 0, 0},
		    {"stall-ms", CONFIG_INT, &s.stall_ms, "0", 0, 600000,
		     "length of an injected stall, ms", 0, 0},
		    {"stall-every", CONFIG_INT, &s.stall_every, "0", 0, 100000000,
		     "stall after every N frames (0: never)", 0, 0},
		    {"disconnect-every", CONFIG_INT, &s.disconnect_every, "0", 0,
		     100000000, "drop the host after N frames on a connection (0: never)",
		     0, 0},
		};
		svc_params p = {.name = "lpms-emu",
				.summary =
				    "LPMS-B2 emulator speaking LPBUS over TCP or a pty.\n"
				    "usage: lpms-emu [--listen-port N|--pty] [--replay "
				    "CSV [--loop]] [faults]",
				.opts = opts,
				.n_opts = sizeof(opts) / sizeof(opts[0]),
				.no_mqtt = 1};
		rc = svc_init(&sv, &p, argc, argv);
		if (rc)
			return svc_exit_code(rc);
	}
	if (lpms_rate_index((unsigned)s.rate) < 0) {
		log_error("--rate: %ld Hz is not one of 5, 10, 25, 50, 100, 200, 400",
			  s.rate);
		rc = 2;
		goto out;
	}
	memset(&eo, 0, sizeof(eo));
	eo.id = (uint16_t)s.id;
	eo.rate_hz = (unsigned)s.rate;
	eo.mask = (uint32_t)s.mask;
	eo.int16 = s.int16;
	eo.start_streaming = s.start_streaming;
	eo.loop = s.loop;
	eo.seed = (uint32_t)s.seed;
	eo.corrupt_rate = s.corrupt_rate;
	eo.drop_rate = s.drop_rate;
	emu_init(&e, &eo);
	if (s.replay) {
		char err[256];
		uint32_t found;
		if (csv_read_file(s.replay, &tab, err, sizeof(err))) {
			log_error("--replay %s: %s", s.replay, err);
			rc = 1;
			goto out;
		}
		if (emu_samples_from_csv(&tab, &rows, &n_rows, &found)) {
			log_error(
			    "--replay %s: no LPMS columns (acc_x, gyr_x, ...) found",
			    s.replay);
			rc = 1;
			goto out;
		}
		emu_set_recording(&e, rows, n_rows);
		log_info("replaying %s: %zu samples%s", s.replay, n_rows,
			 s.loop ? ", in a loop" : "");
	}
	if (s.pty ? srv_pty(&s) : srv_listen(&s)) {
		log_error("cannot %s: %s", s.pty ? "open a pty" : "listen",
			  strerror(errno));
		rc = 1;
		goto out;
	}
	rc = srv_run(&s, &e) ? 1 : 0;
	log_info("stopping: %llu frames, %llu sent, %llu dropped, %llu corrupted, %llu "
		 "overflowed, "
		 "%llu commands, %llu connections",
		 (unsigned long long)e.stats.frames, (unsigned long long)e.stats.sent,
		 (unsigned long long)e.stats.dropped,
		 (unsigned long long)e.stats.corrupted, (unsigned long long)s.overflow,
		 (unsigned long long)e.stats.commands, (unsigned long long)s.connections);
out:
	if (s.cfd >= 0)
		close(s.cfd);
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.pty_slave >= 0)
		close(s.pty_slave);
	free(rows);
	csv_free(&tab);
	svc_cleanup(&sv);
	return rc;
}
