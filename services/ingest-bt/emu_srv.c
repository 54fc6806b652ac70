/* emu_srv — lpms-emu's TCP listener or pty, output buffer and frame
 * pacing on the loop (emu_srv.h). Everything that writes happens before
 * the loop sleeps (emu_srv__before_sleep): generate the frames that are
 * due, flush what the host can take, then watch the host for input (and
 * for output room while something waits) and wake when the next frame is
 * due, 100 ms at most. */
#include "emu_srv.h"

#include "file.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define OUT_CAP EMU_SRV_OUT_CAP

/* Write text to path atomically so a poller never reads half. */
static int write_file_atomic(const char *path, const char *text)
{
	return file_write_atomic(path, text, strlen(text), 0, NULL, 0) ? -1 : 0;
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
	if (s->watched_cfd == s->cfd) {
		loop_unwatch(s->l, s->cfd);
		s->watched_cfd = -1;
	}
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

/* ---- on the loop ------------------------------------------------------ */

static void emu_srv__on_listen(void *ud, int fd, short revents)
{
	emu_srv *s = ud;
	(void)fd;
	if (revents & POLLIN)
		srv_accept(s, s->e);
}

static void emu_srv__on_host(void *ud, int fd, short revents)
{
	emu_srv *s = ud;
	/* output room only wakes the loop: the flush is before the sleep */
	if (fd == s->cfd && (revents & (POLLIN | POLLHUP | POLLERR)))
		srv_read(s, s->e);
}

static int64_t emu_srv__on_wake(void *ud)
{
	(void)ud;
	return 100; /* re-armed before every sleep */
}

/* Queue the frames that are due; returns the ms until the next one (100
 * at most, 0 when a burst was cut short). */
static int64_t emu_srv__frames(emu_srv *s, emu *e)
{
	int64_t now = clock_mono_ns(), wait = 100;
	int64_t period;

	if (e->streaming && !s->was_streaming)
		s->due = now; /* stream starts now */
	s->was_streaming = e->streaming;
	period = (int64_t)((double)emu_period_ns(e) / s->speed);
	if (e->streaming && !emu_finished(e)) {
		int burst = 0;
		while (now >= s->due && burst++ < 1000 && !emu_finished(e)) {
			uint8_t fr[2 * LPBUS_MAX_FRAME];
			size_t fl;
			emu_next_frame(e, fr, sizeof(fr), &fl);
			srv_queue(s, fr, fl, 1);
			s->due += period;
			s->conn_frames += s->cfd >= 0;
			if (s->stall_every > 0 &&
			    ++s->since_stall >= (uint64_t)s->stall_every) {
				s->since_stall = 0;
				/* a link stall: wall time, not scaled */
				s->due += (int64_t)s->stall_ms * 1000000;
			}
			if (s->disconnect_every > 0 && s->cfd >= 0 &&
			    s->conn_frames >= (uint64_t)s->disconnect_every) {
				srv_flush(s, e);
				srv_drop_client(s, e, "injected disconnect");
			}
		}
		if (s->due > now) {
			int64_t ms = (s->due - now + 999999) / 1000000;
			wait = ms < wait ? ms : wait;
		} else {
			wait = 0;
		}
	} else if (emu_finished(e) && !s->announced_end) {
		s->announced_end = 1;
		log_info("recording played to its end (%llu frames); idle",
			 (unsigned long long)e->stats.frames);
	}
	return wait;
}

static void emu_srv__before_sleep(void *ud)
{
	emu_srv *s = ud;
	int64_t wait = emu_srv__frames(s, s->e);

	srv_flush(s, s->e);
	if (s->watched_cfd >= 0 && s->watched_cfd != s->cfd)
		loop_unwatch(s->l, s->watched_cfd);
	s->watched_cfd = -1;
	if (s->cfd >= 0 &&
	    loop_watch(s->l, s->cfd, (short)(POLLIN | (s->out_len ? POLLOUT : 0)),
		       emu_srv__on_host, s) == 0)
		s->watched_cfd = s->cfd;
	loop_timer_at(s->l, s->wake, clock_mono_ms() + wait);
}

int emu_srv_open(emu_srv *s)
{
	s->lfd = s->cfd = s->pty_slave = s->watched_cfd = -1;
	return s->pty ? srv_pty(s) : srv_listen(s);
}

int emu_srv_attach(emu_srv *s, emu *e, loop *l)
{
	s->e = e;
	s->l = l;
	s->wake = loop_timer_add(l, 0, emu_srv__on_wake, s);
	if (s->wake < 0 ||
	    (s->lfd >= 0 && loop_watch(l, s->lfd, LOOP_IN, emu_srv__on_listen, s)))
		return AM_ENOMEM;
	loop_before_sleep(l, emu_srv__before_sleep, s);
	return 0;
}

void emu_srv_close(emu_srv *s)
{
	if (s->l) {
		loop_unwatch(s->l, s->cfd);
		loop_unwatch(s->l, s->lfd);
		loop_timer_del(s->l, s->wake);
		loop_before_sleep(s->l, NULL, NULL);
		s->l = NULL;
	}
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->pty_slave >= 0)
		close(s->pty_slave);
	s->cfd = s->lfd = s->pty_slave = -1;
}
