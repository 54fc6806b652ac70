/* emu — the protocol core of lpms-emu, an LPMS-B2 emulator: it answers the
 * LPBUS commands LP's host libraries send (lpbus.md, "A minimal emulator
 * must") and produces function-9 data frames at the rate, mask and mode it
 * was set to, from a recording or from the synthetic arm (arm.h), with faults
 * (corrupted bytes, inserted garbage, dropped frames) drawn from a seeded
 * generator. It does no I/O and keeps no clock: emu_srv.c owns the
 * sockets, the pty and the pacing, which keeps this part unit-testable.
 *
 * Timeline: sample k carries timestamp ticks = k * (400 / rate) and, when
 * replaying a recording, row k mod rows. k advances only while streaming.
 *
 * Ownership: emu is embedded by the caller; emu_set_recording() borrows the
 * rows (they must outlive the emu). emu_samples_from_csv() allocates rows
 * that the caller frees with free(). */
#ifndef ANOMESH_EMU_H
#define ANOMESH_EMU_H

#include "arm.h"
#include "lpbus.h"
#include "lpms.h"

#include <stddef.h>
#include <stdint.h>

#define EMU_DEFAULT_MASK 0x00261C00u /* acc gyr mag euler quat linacc */

typedef struct emu_opts {
	uint16_t id;         /* sensor id answered with (default 1) */
	unsigned rate_hz;    /* initial stream rate (50) */
	uint32_t mask;       /* initial output mask */
	int int16;           /* initial data mode */
	int start_streaming; /* 1: power-on in stream mode, as the real sensor */
	int loop;            /* replay the recording in a loop */
	uint32_t seed;
	double corrupt_rate; /* probability a data frame gets a flipped byte or garbage */
	double drop_rate;    /* probability a data frame is not sent */
	arm_params arm;      /* the synthetic arm (no recording); cycle_s 0: defaults */
} emu_opts;

typedef struct emu_stats {
	uint64_t frames;    /* data frames generated (k) */
	uint64_t sent;      /* data frames handed out (maybe corrupted) */
	uint64_t corrupted; /* of those, damaged */
	uint64_t dropped;   /* not handed out */
	uint64_t commands;  /* command frames answered */
	uint64_t nacks;
} emu_stats;

typedef struct emu {
	emu_opts o;
	lpbus_parser parser;
	int streaming;
	unsigned rate_hz;
	uint32_t mask;
	int int16;
	uint32_t imu_id;
	uint64_t k; /* next sample */
	uint32_t ticks;
	const lpms_sample *rows; /* recording, or NULL: synthetic */
	size_t n_rows;
	uint64_t rng;
	emu_stats stats;
} emu;

void emu_init(emu *e, const emu_opts *o);
void emu_set_recording(emu *e, const lpms_sample *rows, size_t n);

/* 1 when the recording has been played to its end and loop is off. */
int emu_finished(const emu *e);

/* Feed bytes received from the host. Replies go into out (cap bytes, at
 * least 2 * LPBUS_MAX_FRAME); *outlen gets their size. Processes input
 * until out could not take another reply; returns the bytes consumed. */
size_t emu_input(emu *e, const uint8_t *d, size_t n, uint8_t *out, size_t cap,
		 size_t *outlen);

/* Produce the data frame for sample k and advance k. With faults, the
 * frame may come out damaged, or not at all (*outlen = 0). out must hold
 * 2 * LPBUS_MAX_FRAME. Returns 0, or -1 when nothing is left to stream. */
int emu_next_frame(emu *e, uint8_t *out, size_t cap, size_t *outlen);

/* Period between frames at the current rate, in nanoseconds. */
int64_t emu_period_ns(const emu *e);

/* Sample k of the healthy synthetic arm with default parameters (arm.h)
 * at rate_hz, contract units, all fields. */
void emu_synth_sample(uint64_t k, unsigned rate_hz, lpms_sample *s);

/* Rows of an LPMS table (columns named as csv.h normalises them) as
 * samples; *mask gets the fields found. Returns 0 or -1 (no LPMS column,
 * no memory). */
struct csv_table;
int emu_samples_from_csv(const struct csv_table *t, lpms_sample **rows, size_t *n,
			 uint32_t *mask);

#endif
