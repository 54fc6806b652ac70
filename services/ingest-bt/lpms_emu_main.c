/* lpms-emu — an LPMS-B2 emulator speaking LPBUS over TCP or a pty, for
 * development, tests and benchmarks without the sensor. The protocol is
 * emu.c's, the link and the pacing emu_srv.c's (one host at a time, frames
 * paced by the monotonic clock); this file parses options, loads a
 * recording and runs the loop. Link faults: --corrupt-rate, --drop-rate,
 * --stall-ms/--stall-every, --disconnect-every, all drawn from --seed.
 * Without --replay it streams the synthetic arm (arm.h), with machine
 * faults on a schedule under --faults; --dump-csv writes that arm as a
 * recording instead of serving it. */
#include "emu.h"
#include "emu_srv.h"
#include "lpmscsv.h"

#include "csv.h"
#include "log.h"
#include "svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sensor's own options (the link's are emu_srv's). */
typedef struct emu_args {
	long rate, mask, id, seed, arm_seed;
	int loop, int16, start_streaming, faults;
	double corrupt_rate, drop_rate, fault_first_s, fault_every_s, fault_s, seconds;
	char *replay, *dump_csv;
} emu_args;

/* --dump-csv: the synthetic arm as an LpmsControl CSV log, then exit. */
static int dump_csv(const emu_args *a, const arm_params *arm)
{
	FILE *f = fopen(a->dump_csv, "w");
	uint64_t n = (uint64_t)(a->seconds * (double)a->rate);
	int rc;
	if (!f) {
		log_error("--dump-csv %s: %s", a->dump_csv, strerror(errno));
		return 1;
	}
	rc = lpmscsv_header(f);
	for (uint64_t k = 0; !rc && k < n; k++) {
		lpms_sample s;
		arm_sample(arm, k, (unsigned)a->rate, &s);
		rc = lpmscsv_row(f, (double)k / (double)a->rate, k, &s);
	}
	if (fclose(f) != 0 && !rc)
		rc = AM_EIO;
	if (rc) {
		log_error("--dump-csv %s: %s", a->dump_csv, strerror(errno));
		return 1;
	}
	log_info("wrote %llu samples (%.0f s at %ld Hz) of the synthetic arm%s to %s",
		 (unsigned long long)n, a->seconds, a->rate,
		 arm->faults ? " with fault episodes" : "", a->dump_csv);
	return 0;
}

int main(int argc, char **argv)
{
	emu_srv s;
	emu_args a;
	svc sv;
	emu e;
	emu_opts eo;
	csv_table tab;
	lpms_sample *rows = NULL;
	size_t n_rows = 0;
	int rc;
	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	memset(&tab, 0, sizeof(tab));
	s.lfd = s.cfd = s.pty_slave = s.watched_cfd = -1;
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
		    {"replay", CONFIG_STR, &a.replay, NULL, 0, -1,
		     "LpmsControl CSV to replay (default: the synthetic arm)", 0, 0},
		    {"arm-seed", CONFIG_INT, &a.arm_seed, "1", 0, 0xffffffff,
		     "synthetic arm: seed of its noise and cycle variation", 0, 0},
		    {"faults", CONFIG_BOOL, &a.faults, "0", 0, -1,
		     "synthetic arm: fault episodes (loose mount, worn joint)", 0, 0},
		    {"fault-first-s", CONFIG_DBL, &a.fault_first_s, "40", 0, 1e9,
		     "synthetic arm: start of the first fault episode, s", 0, 0},
		    {"fault-every-s", CONFIG_DBL, &a.fault_every_s, "120", 1, 1e9,
		     "synthetic arm: between fault episode starts, s", 0, 0},
		    {"fault-s", CONFIG_DBL, &a.fault_s, "40", 1, 1e9,
		     "synthetic arm: length of a fault episode, s", 0, 0},
		    {"dump-csv", CONFIG_STR, &a.dump_csv, NULL, 0, -1,
		     "write --seconds of the synthetic arm at --rate as an LpmsControl "
		     "CSV and exit",
		     0, 0},
		    {"seconds", CONFIG_DBL, &a.seconds, "600", 1, 1e7,
		     "length of --dump-csv, s", 0, 0},
		    {"loop", CONFIG_BOOL, &a.loop, "0", 0, -1,
		     "replay the recording in a loop", 0, 0},
		    {"rate", CONFIG_INT, &a.rate, "50", 5, 400,
		     "initial stream rate, Hz (5,10,25,50,100,200,400)", 0, 0},
		    {"mask", CONFIG_INT, &a.mask, "0x261C00", 0, 0xffffffff,
		     "initial output mask (config register bits)", 0, 0},
		    {"int16", CONFIG_BOOL, &a.int16, "0", 0, -1,
		     "start in 16-bit data mode", 0, 0},
		    {"id", CONFIG_INT, &a.id, "1", 0, 65535, "sensor id", 0, 0},
		    {"start-streaming", CONFIG_BOOL, &a.start_streaming, "1", 0, -1,
		     "power on in stream mode (as the sensor does)", 0, 0},
		    {"speed", CONFIG_DBL, &s.speed, "1", 0.01, 1000,
		     "run N times faster than real time", 0, 0},
		    {"seed", CONFIG_INT, &a.seed, "1", 0, 0xffffffff,
		     "seed of the fault generator", 0, 0},
		    {"corrupt-rate", CONFIG_DBL, &a.corrupt_rate, "0", 0, 1,
		     "probability a data frame is damaged", 0, 0},
		    {"drop-rate", CONFIG_DBL, &a.drop_rate, "0", 0, 1,
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
	if (lpms_rate_index((unsigned)a.rate) < 0) {
		log_error("--rate: %ld Hz is not one of 5, 10, 25, 50, 100, 200, 400",
			  a.rate);
		rc = 2;
		goto out;
	}
	memset(&eo, 0, sizeof(eo));
	eo.id = (uint16_t)a.id;
	eo.rate_hz = (unsigned)a.rate;
	eo.mask = (uint32_t)a.mask;
	eo.int16 = a.int16;
	eo.start_streaming = a.start_streaming;
	eo.loop = a.loop;
	eo.seed = (uint32_t)a.seed;
	eo.corrupt_rate = a.corrupt_rate;
	eo.drop_rate = a.drop_rate;
	arm_params_default(&eo.arm);
	eo.arm.seed = (uint32_t)a.arm_seed;
	eo.arm.faults = a.faults;
	eo.arm.fault_first_s = a.fault_first_s;
	eo.arm.fault_every_s = a.fault_every_s;
	eo.arm.fault_s = a.fault_s;
	if (a.dump_csv) {
		rc = dump_csv(&a, &eo.arm);
		goto out;
	}
	emu_init(&e, &eo);
	if (a.replay) {
		char err[256];
		uint32_t found;
		if (csv_read_file(a.replay, &tab, err, sizeof(err))) {
			log_error("--replay %s: %s", a.replay, err);
			rc = 1;
			goto out;
		}
		if (emu_samples_from_csv(&tab, &rows, &n_rows, &found)) {
			log_error(
			    "--replay %s: no LPMS columns (acc_x, gyr_x, ...) found",
			    a.replay);
			rc = 1;
			goto out;
		}
		emu_set_recording(&e, rows, n_rows);
		log_info("replaying %s: %zu samples%s", a.replay, n_rows,
			 a.loop ? ", in a loop" : "");
	}
	if (emu_srv_open(&s)) {
		log_error("cannot %s: %s", s.pty ? "open a pty" : "listen",
			  strerror(errno));
		rc = 1;
		goto out;
	}
	if (emu_srv_attach(&s, &e, sv.loop)) {
		log_error("out of memory");
		rc = 1;
		goto out;
	}
	rc = loop_run(sv.loop) ? 1 : 0;
	log_info("stopping: %llu frames, %llu sent, %llu dropped, %llu corrupted, %llu "
		 "overflowed, "
		 "%llu commands, %llu connections",
		 (unsigned long long)e.stats.frames, (unsigned long long)e.stats.sent,
		 (unsigned long long)e.stats.dropped,
		 (unsigned long long)e.stats.corrupted, (unsigned long long)s.overflow,
		 (unsigned long long)e.stats.commands, (unsigned long long)s.connections);
out:
	emu_srv_close(&s);
	free(rows);
	csv_free(&tab);
	svc_cleanup(&sv);
	return rc;
}
