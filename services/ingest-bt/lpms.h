/* lpms — the LPMS-B2 legacy command set on top of LPBUS
 * (../shared/docs/lpbus.md): command codes, the config register, the
 * function-9 data frame in float32 and int16 modes (decode and encode), the
 * sensor's calibration, and the mapping of its fields to the contract's
 * channel names and units (../shared/docs/contract.md).
 *
 * Units: lpms_sample holds values in the contract's units (g, deg/s, uT,
 * deg, kPa, m, degC). Decoding converts from the wire (rad/s, rad, int16
 * fixed point); encoding (used by the emulator) converts back. Angular
 * velocity has no contract name; it is published as angvel_x/y/z (deg/s).
 *
 * Untrusted input: a data payload whose length differs from what the mask
 * and mode announce is refused, as are non-finite floats.
 *
 * Ownership: every type here is a plain value; nothing is allocated. */
#ifndef ANOMESH_LPMS_H
#define ANOMESH_LPMS_H

#include <stddef.h>
#include <stdint.h>

/* Command / function codes. */
#define LPMS_ACK 0
#define LPMS_NACK 1
#define LPMS_GET_CONFIG 4
#define LPMS_GET_STATUS 5
#define LPMS_GOTO_COMMAND_MODE 6
#define LPMS_GOTO_STREAM_MODE 7
#define LPMS_GET_SENSOR_DATA 9
#define LPMS_SET_TRANSMIT_DATA 10
#define LPMS_SET_STREAM_FREQ 11
#define LPMS_WRITE_REGISTERS 15
#define LPMS_SET_IMU_ID 20
#define LPMS_GET_IMU_ID 21
#define LPMS_GET_ACC_BIAS 28
#define LPMS_GET_ACC_ALIGNMENT 30
#define LPMS_GET_MAG_HARD_IRON 36
#define LPMS_GET_MAG_SOFT_IRON 38
#define LPMS_GET_FIRMWARE_VERSION 47
#define LPMS_GET_GYR_BIAS 49
#define LPMS_GET_GYR_ALIGNMENT 51
#define LPMS_SET_LPBUS_DATA_MODE 75
#define LPMS_GET_BATTERY_LEVEL 87
#define LPMS_GET_BATTERY_VOLTAGE 88
#define LPMS_GET_SERIAL_NUMBER 90
#define LPMS_GET_DEVICE_NAME 91
#define LPMS_GET_FIRMWARE_INFO 92

/* GET_STATUS bits. */
#define LPMS_STATUS_COMMAND 0x1u
#define LPMS_STATUS_STREAM 0x2u

/* Output bits (config register and SET_TRANSMIT_DATA mask). */
#define LPMS_OUT_PRESSURE (1u << 9)
#define LPMS_OUT_MAG (1u << 10)
#define LPMS_OUT_ACC (1u << 11)
#define LPMS_OUT_GYR (1u << 12)
#define LPMS_OUT_TEMPERATURE (1u << 13)
#define LPMS_OUT_HEAVE (1u << 14)
#define LPMS_OUT_ANGVEL (1u << 16)
#define LPMS_OUT_EULER (1u << 17)
#define LPMS_OUT_QUAT (1u << 18)
#define LPMS_OUT_ALTITUDE (1u << 19)
#define LPMS_OUT_LINACC (1u << 21)
#define LPMS_OUT_ALL                                                                     \
	(LPMS_OUT_PRESSURE | LPMS_OUT_MAG | LPMS_OUT_ACC | LPMS_OUT_GYR |                \
	 LPMS_OUT_TEMPERATURE | LPMS_OUT_HEAVE | LPMS_OUT_ANGVEL | LPMS_OUT_EULER |      \
	 LPMS_OUT_QUAT | LPMS_OUT_ALTITUDE | LPMS_OUT_LINACC)
#define LPMS_CFG_16BIT (1u << 22)
#define LPMS_CFG_RATE_MASK 0x7u

#define LPMS_TICK_HZ 400 /* firmware 2.x timestamp: ticks of 2.5 ms */
#define LPMS_MAX_CHANNELS 30
#define LPMS_CHANNEL_MAX 16

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL   bad argument (unknown rate, bad mask)
 *   AM_ELENGTH  payload length does not match mask and mode
 *   AM_EVALUE   non-finite value
 *   AM_ETOOBIG  out buffer too small
 */
#include "error.h"

/* A decoded sample in contract units. Fields not in mask are left 0. */
typedef struct lpms_sample {
	uint32_t ticks;    /* the sensor's timestamp, 2.5 ms ticks */
	uint32_t mask;     /* LPMS_OUT_* bits present */
	float gyr[3];      /* deg/s */
	float acc[3];      /* g */
	float mag[3];      /* uT */
	float angvel[3];   /* deg/s */
	float quat[4];     /* w, x, y, z */
	float euler[3];    /* deg */
	float linacc[3];   /* g */
	float pressure;    /* kPa */
	float altitude;    /* m */
	float temperature; /* degC */
	float heave;       /* m */
} lpms_sample;

/* How to read a data frame: the sensor's mask and mode. */
typedef struct lpms_format {
	uint32_t mask;  /* LPMS_OUT_* */
	int int16;      /* 1: 16-bit fixed point mode */
	int quat_scale; /* int16 divisor for quaternion/Euler: 10000 (fw >= 2.0.5) or 1000
			 */
} lpms_format;

/* Stream rates: index 0..6 <-> 5,10,25,50,100,200,400 Hz. */
int lpms_rate_hz(int index);           /* -1 for a bad index */
int lpms_rate_index(unsigned rate_hz); /* -1 for an unsupported rate */
/* Ticks per sample at rate_hz (400 / rate), 0 for an unsupported rate. */
unsigned lpms_ticks_per_sample(unsigned rate_hz);

/* Decoded config register. */
typedef struct lpms_config {
	unsigned rate_hz; /* 0 if the index is invalid */
	uint32_t mask;    /* output bits */
	int int16;
} lpms_config;
void lpms_config_decode(uint32_t reg, lpms_config *out);
/* Build a register from rate, mask and mode. AM_EINVAL for a bad rate. */
int lpms_config_encode(const lpms_config *c, uint32_t *reg);

/* int16 divisor for quaternion/Euler from the firmware version. */
int lpms_quat_scale(uint32_t major, uint32_t minor, uint32_t build);

/* Bytes of a data payload for this format (timestamp included). */
size_t lpms_data_len(const lpms_format *f);

/* Decode a function-9 payload. Returns 0, AM_ELENGTH or AM_EVALUE. */
int lpms_decode_data(const uint8_t *payload, size_t len, const lpms_format *f,
		     lpms_sample *out);

/* Encode s (contract units) as a function-9 payload for format f. int16
 * values saturate at the type's range. *len gets the size. Returns 0,
 * AM_ETOOBIG or AM_EVALUE (non-finite input). */
int lpms_encode_data(const lpms_sample *s, const lpms_format *f, uint8_t *out, size_t cap,
		     size_t *len);

/* Calibration read from the sensor: v_cal = M * (v_raw - b). */
typedef struct lpms_calib {
	float acc_bias[3], acc_align[9];
	float gyr_bias[3], gyr_align[9];
	float mag_hard[3], mag_soft[9];
} lpms_calib;
void lpms_calib_identity(lpms_calib *c);
/* Apply to acc, gyr and mag of s when present in s->mask. */
void lpms_calib_apply(const lpms_calib *c, lpms_sample *s);
/* Read n little-endian floats from a reply; exactly n*4 bytes, all finite.
 * Returns 0, AM_ELENGTH or AM_EVALUE. */
int lpms_read_floats(const uint8_t *payload, size_t len, float *out, size_t n);
/* Store the calibration reply of function code fn into c. Returns 0,
 * AM_EINVAL (not a calibration code), AM_ELENGTH or AM_EVALUE. */
int lpms_calib_set(lpms_calib *c, uint16_t fn, const uint8_t *payload, size_t len);

/* Little-endian u32 helpers for command payloads. */
uint32_t lpms_get_u32(const uint8_t *p);
void lpms_put_u32(uint8_t *p, uint32_t v);

/* Channel names for a mask in the order lpms_sample_values() writes them,
 * the wire order: gyr, acc, mag, angvel, quat, euler, linacc, pressure,
 * altitude, temperature, heave. Returns the count (<= LPMS_MAX_CHANNELS). */
size_t lpms_channels(uint32_t mask, char names[][LPMS_CHANNEL_MAX], size_t max);
/* Values of s for mask, in lpms_channels() order; returns the count. */
size_t lpms_sample_values(const lpms_sample *s, uint32_t mask, float *vals, size_t max);
/* Set a field of s by contract channel name (for CSV replay). Returns 0, or
 * AM_EINVAL when the name is not an LPMS channel. *bit gets its mask bit. */
int lpms_sample_set(lpms_sample *s, const char *name, float v, uint32_t *bit);

#endif
