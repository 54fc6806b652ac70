/* emu_srv — lpms-emu's link side: a TCP listener (one host at a time, as
 * over Bluetooth SPP: a new connection replaces the old one) or a pty, the
 * output buffer that loses data like a full radio buffer when the host does
 * not drain it, and the pacing of emu.c's frames by the monotonic clock
 * (--speed N runs N x faster; injected stalls are wall time, not scaled),
 * with the injected stalls and disconnects. The sensor's timeline runs
 * while it streams whether or not a host is connected, so a host that was
 * away sees a gap in the timestamps, as with the real sensor. Runs on the
 * program's loop (loop.h): emu_srv_attach() registers it.
 *
 * Ownership: emu_srv is embedded by the caller, options filled before
 * emu_srv_open(); emu_srv_close() closes every descriptor (idempotent).
 * The emu and the loop are borrowed and must outlive the attachment. */
#ifndef ANOMESH_EMU_SRV_H
#define ANOMESH_EMU_SRV_H

#include "emu.h"
#include "loop.h"

#include <stddef.h>
#include <stdint.h>

#define EMU_SRV_OUT_CAP (64 * 1024)

typedef struct emu_srv {
	/* options */
	long port, stall_ms, stall_every, disconnect_every;
	int pty;
	double speed;
	char *bind, *port_file, *pty_file;
	/* state */
	int lfd, cfd, pty_slave;
	uint8_t out[EMU_SRV_OUT_CAP];
	size_t out_len;
	uint64_t conn_frames, overflow, connections;
	emu *e;
	loop *l;
	long wake; /* timer: the next frame is due */
	int watched_cfd;
	int64_t due;
	int was_streaming, announced_end;
	uint64_t since_stall;
} emu_srv;

/* Listen on bind:port (port 0: a free one; printed, and written to
 * port_file) or open a pty (pty: its path printed and written to
 * pty_file). Returns 0, or -1 with errno set. */
int emu_srv_open(emu_srv *s);

/* Serve e on l: frames paced before every sleep, the host's commands
 * answered as they come. Returns 0 or AM_ENOMEM. */
int emu_srv_attach(emu_srv *s, emu *e, loop *l);

void emu_srv_close(emu_srv *s);

#endif
