/* synth — the synthetic arm as a recording (synth.h). */
#include "synth.h"

#include "../../services/ingest-bt/lpmscsv.h"
#include "harness.h"
#include "harness_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void synth_arm_faulty(arm_params *p, uint32_t seed)
{
	arm_params_default(p);
	p->seed = seed;
	p->faults = 1;
	p->fault_first_s = 10;
	p->fault_every_s = 60;
	p->fault_s = 20;
}

const char *synth_arm_csv(const char *name, const arm_params *p, unsigned rate_hz,
			  double seconds)
{
	char path[PATH_MAX];
	const char *dir = harness_tmpdir();
	uint64_t n = (uint64_t)(seconds * rate_hz);
	FILE *f;
	int rc;

	if (!dir ||
	    (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return NULL;
	f = fopen(path, "w");
	if (!f) {
		harness__fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	rc = lpmscsv_header(f);
	for (uint64_t k = 0; !rc && k < n; k++) {
		lpms_sample s;
		arm_sample(p, k, rate_hz, &s);
		rc = lpmscsv_row(f, (double)k / rate_hz, k, &s);
	}
	if (fclose(f) != 0 || rc) {
		harness__fail("writing %s: %s", path, strerror(errno));
		return NULL;
	}
	return harness__intern("%s", path);
}

int synth_arm_truth(const char *csv, const arm_params *p, double seconds,
		    truth_stretch *hot, size_t max, size_t *n)
{
	size_t episodes = 0;
	if (truth_energy_stretches(csv, "linacc_x", 5.0, 0.07, hot, max, n))
		return -1;
	while (p->faults &&
	       p->fault_first_s + (double)episodes * p->fault_every_s < seconds)
		episodes++;
	if (*n != episodes) {
		harness__fail("%s: %zu failure stretches by energy, %zu episodes", csv,
			      *n, episodes);
		return -1;
	}
	for (size_t h = 0; h < *n; h++)
		if (arm_fault_at(p, hot[h].start + 0.5) == ARM_HEALTHY ||
		    arm_fault_at(p, hot[h].end - 0.5) == ARM_HEALTHY ||
		    arm_fault_at(p, hot[h].start - 1) != ARM_HEALTHY ||
		    arm_fault_at(p, hot[h].end + 1) != ARM_HEALTHY) {
			harness__fail("%s: stretch %.1f..%.1f s is not an episode", csv,
				      hot[h].start, hot[h].end);
			return -1;
		}
	return 0;
}
