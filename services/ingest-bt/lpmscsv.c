/* lpmscsv — the LpmsControl CSV writer (see lpmscsv.h). Values with four
 * decimals as LpmsControl writes them: below the sensor's resolution, and
 * what the real recordings hold. */
#include "lpmscsv.h"

#include "error.h"

int lpmscsv_header(FILE *f)
{
	int n =
	    fputs("SensorId, TimeStamp (s), FrameNumber, AccX (g), AccY (g), AccZ (g), "
		  "GyroX (deg/s), GyroY (deg/s), GyroZ (deg/s), MagX (uT), MagY (uT), "
		  "MagZ (uT), EulerX (deg), EulerY (deg), EulerZ (deg), QuatW, QuatX, "
		  "QuatY, QuatZ, LinAccX (g), LinAccY (g), LinAccZ (g), Pressure (kPa), "
		  "Altitude (m), Temperature (degC), HeaveMotion (m)\n",
		  f);
	return n < 0 ? AM_EIO : 0;
}

int lpmscsv_row(FILE *f, double t, uint64_t frame, const lpms_sample *s)
{
	int n = fprintf(f,
			"1, %.4f, %llu, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, "
			"%.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, "
			"%.4f, %.4f, %.4f, %.4f, %.4f\n",
			t, (unsigned long long)frame, s->acc[0], s->acc[1], s->acc[2],
			s->gyr[0], s->gyr[1], s->gyr[2], s->mag[0], s->mag[1], s->mag[2],
			s->euler[0], s->euler[1], s->euler[2], s->quat[0], s->quat[1],
			s->quat[2], s->quat[3], s->linacc[0], s->linacc[1], s->linacc[2],
			s->pressure, s->altitude, s->temperature, s->heave);
	return n < 0 ? AM_EIO : 0;
}
