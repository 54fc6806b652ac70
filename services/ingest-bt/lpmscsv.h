/* lpmscsv — write LPMS samples as an LpmsControl CSV log, the format of
 * the real recordings (header row, ", " separated, SensorId, TimeStamp (s),
 * FrameNumber, then every field in the sensor's units). The reverse of
 * emu_samples_from_csv(): what it writes, the emulator, ingest's csv:
 * source, ae-train and the tests' ground truth all read. Used by
 * `lpms-emu --dump-csv` to give training and tests recordings of the
 * synthetic arm without ../shared. */
#ifndef ANOMESH_LPMSCSV_H
#define ANOMESH_LPMSCSV_H

#include "lpms.h"

#include <stdint.h>
#include <stdio.h>

/* The header line (with its newline). Returns 0, or AM_EIO (errno kept). */
int lpmscsv_header(FILE *f);

/* One row: sensor id 1, timestamp t seconds, frame number frame, every
 * field of s (absent ones as 0). Returns 0, or AM_EIO (errno kept). */
int lpmscsv_row(FILE *f, double t, uint64_t frame, const lpms_sample *s);

#endif
