/*
 * fault.c: which generation request gets which injected fault.
 *
 * Rates (--fault-KIND p) are decided by a hash of (seed, prompt hash,
 * attempt number for that prompt, kind), so a retry of a failed prompt is
 * a new draw and can succeed, and a rerun with the same seed and the same
 * request order fails the same requests. The schedule flags:
 *   --fault-after N  no faults for the first N generation requests;
 *   --fault-first N  the first N generation requests each get a fault (the
 *                    kinds with a nonzero rate, in turn) and none after.
 * Owns the prompt -> attempts table (s->att_*: grown here, freed by
 * sim_fault_free), and the hash and RNG (sim_hash, sim_mix, sim_u01) that
 * make every decision of the simulator deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ------------------------------------------------------------ hashing */

uint64_t sim_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t sim_hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = sim_mix(seed ^ (n * 0x9e3779b97f4a7c15ULL));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ sim_mix(w)) * 0x9e3779b97f4a7c15ULL;
        s += 8, n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ sim_mix(w + n)) * 0x9e3779b97f4a7c15ULL;
    return sim_mix(h);
}

double sim_u01(uint64_t h) { return (double)(h >> 11) / 9007199254740992.0; }

/* ------------------------------------------------------------ faults */

const char *const sim_fault_names[F_NKINDS] = {
    "500", "503", "429", "close", "reset", "stream_error", "truncate", "stall", "html"};

static void att_grow(sim_server *s)
{
    size_t ncap = s->att_cap ? s->att_cap * 2 : 1024;
    uint64_t *keys = calloc(ncap, sizeof *keys);
    uint32_t *vals = calloc(ncap, sizeof *vals);
    if (!keys || !vals)
        abort();
    for (size_t i = 0; i < s->att_cap; i++) {
        if (!s->att_vals[i])
            continue;
        size_t p = (size_t)s->att_keys[i] & (ncap - 1);
        while (vals[p])
            p = (p + 1) & (ncap - 1);
        keys[p] = s->att_keys[i];
        vals[p] = s->att_vals[i];
    }
    free(s->att_keys);
    free(s->att_vals);
    s->att_keys = keys;
    s->att_vals = vals;
    s->att_cap = ncap;
}

/* Returns how many times this prompt was seen before, and counts this one. */
static uint32_t attempt(sim_server *s, uint64_t h)
{
    if ((s->att_len + 1) * 2 > s->att_cap)
        att_grow(s);
    size_t m = s->att_cap - 1, p = (size_t)h & m;
    while (s->att_vals[p] && s->att_keys[p] != h)
        p = (p + 1) & m;
    if (!s->att_vals[p]) {
        s->att_keys[p] = h;
        s->att_len++;
    }
    return s->att_vals[p]++;
}

int sim_fault_pick(sim_server *s, uint64_t phash)
{
    const sim_config *cf = &s->cfg;
    uint64_t seq = s->gen_seq++;
    int enabled[F_NKINDS], ne = 0;
    for (int k = 0; k < F_NKINDS; k++)
        if (cf->fault_rate[k] > 0)
            enabled[ne++] = k;
    if (!ne)
        return -1;
    if (cf->fault_first > 0)
        return seq < (uint64_t)cf->fault_first ? enabled[seq % (uint64_t)ne] : -1;
    uint32_t att = attempt(s, phash);
    if (seq < (uint64_t)cf->fault_after)
        return -1;
    for (int k = 0; k < F_NKINDS; k++) {
        uint64_t h = sim_mix(phash ^ sim_mix(cf->seed + 0x51a1) ^
                             sim_mix(((uint64_t)att << 8) | (uint64_t)k));
        if (sim_u01(h) < cf->fault_rate[k])
            return k;
    }
    return -1;
}

void sim_fault_free(sim_server *s)
{
    free(s->att_keys);
    free(s->att_vals);
    s->att_keys = NULL;
    s->att_vals = NULL;
    s->att_cap = s->att_len = 0;
}
