/* source — where a sensor's bytes come from, given on the command line as
 *
 *     bt:AA:BB:CC:DD:EE:FF[#sensor]     RFCOMM channel 1 through BlueZ sockets
 *     serial:/dev/ttyUSB0[@baud][#sensor]  termios raw (default 921600 baud)
 *     tcp:host:port[#sensor]            LPBUS over TCP (bridge, lpms-emu)
 *     csv:path[@speed][#sensor]         replay of a CSV log (speed x real time)
 *
 * "#sensor" names the {sensor} topic level ([A-Za-z0-9._-]{1,64}); without
 * it a sensor is "lpms-<12 hex digits of the MAC>" for bt: and
 * "lpms<N>" (N = position among the sources, from 1) otherwise.
 *
 * source_open() starts a non-blocking connection: the caller polls the fd
 * for POLLOUT while *pending and then calls source_finish(). Leaf code: no
 * logging; errors come back with a reason in err.
 *
 * Ownership: src_spec is a plain value. */
#ifndef ANOMESH_SOURCE_H
#define ANOMESH_SOURCE_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

enum src_kind { SRC_BT, SRC_SERIAL, SRC_TCP, SRC_CSV };

#define SRC_PATH_MAX 256
#define SRC_DEFAULT_BAUD 921600
#define SRC_BT_CHANNEL 1

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL  malformed spec
 *   AM_EIO     cannot open/connect now (retry later); errno kept
 */
#include "error.h"

typedef struct src_spec {
	enum src_kind kind;
	char sensor[MSG_SENSOR_MAX + 1];
	char path[SRC_PATH_MAX]; /* serial device, csv file or tcp host */
	int port;                /* tcp */
	long baud;               /* serial */
	double speed;            /* csv */
	uint8_t bdaddr[6];       /* bt, as written: bdaddr[0] = "AA" */
} src_spec;

/* Parse one source option. index: position among sources (for the default
 * name). Returns 0 or AM_EINVAL with the reason in err. */
int source_parse(const char *spec, int index, src_spec *out, char *err, size_t errlen);

/* Parse "AA:BB:CC:DD:EE:FF" (hex, either case, exactly 17 characters) into
 * out[0..5] in written order. Returns 0 or -1. */
int source_parse_bdaddr(const char *s, uint8_t out[6]);

/* Start connecting/opening. *fd gets a non-blocking descriptor, *pending 1
 * while a connect is in progress. Returns 0, AM_EINVAL (csv has no fd) or
 * AM_EIO with the reason in err. */
int source_open(const src_spec *s, int *fd, int *pending, char *err, size_t errlen);

/* Complete a pending connect (after POLLOUT). Returns 0 or AM_EIO. */
int source_finish(int fd, char *err, size_t errlen);

/* "bt", "serial", "tcp" or "csv". */
const char *source_kind_name(enum src_kind k);

/* The source as the user wrote it, without #sensor ("tcp:127.0.0.1:5000"),
 * for log lines. Returns out. */
const char *source_label(const src_spec *s, char *out, size_t len);

#endif
