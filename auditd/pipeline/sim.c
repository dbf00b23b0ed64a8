/* sim.c: the synthetic plant (sim.h). Generation rules: docs/pipeline.md. */
#include "sim.h"

#include "rfc3339.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the example profiles ------------------------------------------------ */

const char sim_profile_cnc[] =
    "{\n"
    "  \"$schema\": \"profile.schema.json\",\n"
    "  \"profile\": \"cnc-mill\",\n"
    "  \"device_type\": \"cnc_mill\",\n"
    "  \"description\": \"CNC milling machine with AI4I 2020 style process variables, read by "
    "gateway gw-1 once per sampling interval\",\n"
    "  \"sampling_interval_s\": 60,\n"
    "  \"fields\": [\n"
    "    {\"name\": \"machine_type\", \"type\": \"enum\", \"values\": [\"L\", \"M\", \"H\"], "
    "\"required\": true, \"description\": \"product quality variant: low, medium, high\"},\n"
    "    {\"name\": \"state\", \"type\": \"enum\", \"values\": [\"running\", \"idle\", "
    "\"down\"], \"required\": true, \"role\": \"machine_state\"},\n"
    "    {\"name\": \"air_temp_k\", \"type\": \"number\", \"unit\": \"K\", \"min\": 280, "
    "\"max\": 330, \"required\": true},\n"
    "    {\"name\": \"process_temp_k\", \"type\": \"number\", \"unit\": \"K\", \"min\": 280, "
    "\"max\": 345, \"required\": true},\n"
    "    {\"name\": \"rotational_speed_rpm\", \"type\": \"number\", \"unit\": \"rpm\", "
    "\"min\": 0, \"max\": 3000, \"required\": true},\n"
    "    {\"name\": \"torque_nm\", \"type\": \"number\", \"unit\": \"Nm\", \"min\": 0, "
    "\"max\": 100, \"required\": true},\n"
    "    {\"name\": \"tool_wear_min\", \"type\": \"integer\", \"unit\": \"min\", \"min\": 0, "
    "\"max\": 300, \"required\": true},\n"
    "    {\"name\": \"power_kw\", \"type\": \"number\", \"unit\": \"kW\", \"min\": 0, "
    "\"max\": 20},\n"
    "    {\"name\": \"energy_kwh\", \"type\": \"number\", \"unit\": \"kWh\", \"min\": 0, "
    "\"role\": \"energy_meter\"},\n"
    "    {\"name\": \"produced\", \"type\": \"integer\", \"min\": 0, \"role\": "
    "\"produced_count\"},\n"
    "    {\"name\": \"good\", \"type\": \"integer\", \"min\": 0, \"role\": \"good_count\"},\n"
    "    {\"name\": \"inspection\", \"type\": \"enum\", \"values\": [\"pass\", \"fail\"], "
    "\"role\": \"inspection_result\"},\n"
    "    {\"name\": \"failure\", \"type\": \"integer\", \"min\": 0, \"max\": 1, \"role\": "
    "\"failure_label\"},\n"
    "    {\"name\": \"failure_mode\", \"type\": \"enum\", \"values\": [\"none\", \"TWF\", "
    "\"HDF\", \"PWF\", \"OSF\", \"RNF\"]}\n"
    "  ]\n"
    "}\n";

const char sim_profile_plc[] =
    "{\n"
    "  \"$schema\": \"profile.schema.json\",\n"
    "  \"profile\": \"legacy-plc\",\n"
    "  \"device_type\": \"plc\",\n"
    "  \"description\": \"Press line PLC without its own network stack; gateway gw-1 polls "
    "its registers over Modbus TCP and posts readings on its behalf\",\n"
    "  \"vendor\": \"legacy S7-300 class controller\",\n"
    "  \"notes\": \"register map: 40001 motor current (0.1 A), 40002 line speed (0.1 m/min), "
    "40003 state, 40010-40013 counters, 40020 alarm\",\n"
    "  \"sampling_interval_s\": 300,\n"
    "  \"fields\": [\n"
    "    {\"name\": \"state\", \"type\": \"enum\", \"values\": [\"run\", \"stop\", "
    "\"fault\"], \"required\": true, \"role\": \"machine_state\"},\n"
    "    {\"name\": \"motor_current_a\", \"type\": \"number\", \"unit\": \"A\", \"min\": 0, "
    "\"max\": 200, \"required\": true},\n"
    "    {\"name\": \"line_speed_mpm\", \"type\": \"number\", \"unit\": \"m/min\", \"min\": 0, "
    "\"max\": 120, \"required\": true},\n"
    "    {\"name\": \"counter_total\", \"type\": \"integer\", \"min\": 0, \"required\": true, "
    "\"role\": \"produced_count\"},\n"
    "    {\"name\": \"counter_good\", \"type\": \"integer\", \"min\": 0, \"required\": true, "
    "\"role\": \"good_count\"},\n"
    "    {\"name\": \"energy_wh\", \"type\": \"integer\", \"unit\": \"Wh\", \"min\": 0, "
    "\"role\": \"energy_meter\"},\n"
    "    {\"name\": \"alarm_code\", \"type\": \"integer\", \"min\": 0, \"max\": 65535}\n"
    "  ]\n"
    "}\n";

/* The camera profile's text up to its last field's closing brace: firmware 2.5.0 appends one
 * field after it. */
#define PROFILE_CAMERA_HEAD \
    "{\n" \
    "  \"$schema\": \"profile.schema.json\",\n" \
    "  \"profile\": \"edge-camera\",\n" \
    "  \"device_type\": \"ai_camera\",\n" \
    "  \"description\": \"Edge AI inspection camera at the end of the press line; runs its " \
    "own defect model and posts one summary per sampling interval\",\n" \
    "  \"sampling_interval_s\": 300,\n" \
    "  \"fields\": [\n" \
    "    {\"name\": \"inspection\", \"type\": \"enum\", \"values\": [\"pass\", \"fail\"], " \
    "\"role\": \"inspection_result\"},\n" \
    "    {\"name\": \"defect_class\", \"type\": \"enum\", \"values\": [\"none\", \"scratch\", " \
    "\"dent\", \"burr\", \"missing_part\"]},\n" \
    "    {\"name\": \"confidence\", \"type\": \"number\", \"min\": 0, \"max\": 1},\n" \
    "    {\"name\": \"inference_ms\", \"type\": \"number\", \"unit\": \"ms\", \"min\": 0, " \
    "\"max\": 1000, \"required\": true},\n" \
    "    {\"name\": \"board_temp_c\", \"type\": \"number\", \"unit\": \"Cel\", \"min\": -20, " \
    "\"max\": 90, \"required\": true},\n" \
    "    {\"name\": \"model_version\", \"type\": \"string\", \"max_length\": 64, " \
    "\"required\": true}"

const char sim_profile_camera[] = PROFILE_CAMERA_HEAD "\n"
                                  "  ]\n"
                                  "}\n";

/* The camera profile after firmware 2.5.0 added the exposure time
 * (written to fixes/: load it, then replay the quarantine). */
static const char profile_camera_v2[] =
    PROFILE_CAMERA_HEAD ",\n"
    "    {\"name\": \"exposure_ms\", \"type\": \"number\", \"unit\": \"ms\", \"min\": 0, "
    "\"max\": 100}\n"
    "  ]\n"
    "}\n";

/* ---- PRNG: xoshiro256** seeded with splitmix64 ------------------------------ */

typedef struct rng {
    uint64_t s[4];
    bool has_spare;
    double spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
    r->has_spare = false;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_u(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_uniform(rng *r, double a, double b)
{
    return a + (b - a) * rng_u(r);
}

/* Standard normal (Box-Muller). */
static double rng_normal(rng *r, double mean, double sd)
{
    if (r->has_spare) {
        r->has_spare = false;
        return mean + sd * r->spare;
    }
    double u1 = rng_u(r), u2 = rng_u(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double m = sqrt(-2.0 * log(u1));
    r->spare = m * sin(2.0 * M_PI * u2);
    r->has_spare = true;
    return mean + sd * m * cos(2.0 * M_PI * u2);
}

static void rng_hex(rng *r, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 64; i += 16) {
        uint64_t v = rng_next(r);
        for (int k = 0; k < 16; k++)
            out[i + k] = hx[(v >> (4 * k)) & 15];
    }
    out[64] = 0;
}

/* ---- output --------------------------------------------------------------- */

typedef struct sim_ev {
    int64_t t;
    uint64_t seq;
    char *line;
} sim_ev;

typedef struct sim {
    const sim_opts *o;
    rng r;      /* telemetry */
    rng re;     /* events (separate stream: event choices do not shift telemetry) */
    FILE *tel;
    sim_ev *ev;
    size_t nev, evcap;
    uint64_t evseq;
    int oom;
    sim_stats *st;
} sim;

static void fmt_time(int64_t us, char *out)
{
    rfc3339_format_s(us, out, 32);
}

/* Add an event: type, time, actor and extra members (JSON text after a comma,
 * may be empty). */
static void ev_add(sim *s, int64_t t, const char *type, const char *actor, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void ev_add(sim *s, int64_t t, const char *type, const char *actor, const char *fmt, ...)
{
    if (s->oom)
        return;
    char extra[1536], tm[32], line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof extra, fmt, ap);
    va_end(ap);
    fmt_time(t, tm);
    s->evseq++;
    int n = snprintf(line, sizeof line,
                     "{\"type\":\"%s\",\"time\":\"%s\",\"actor\":\"%s\",\"id\":\"sim-%06llu\","
                     "\"site\":\"plant-1\"%s%s}\n",
                     type, tm, actor, (unsigned long long)s->evseq, extra[0] ? "," : "", extra);
    if (s->nev == s->evcap) {
        size_t c = s->evcap ? s->evcap * 2 : 1024;
        sim_ev *ne = realloc(s->ev, c * sizeof *ne);
        if (!ne) {
            s->oom = 1;
            return;
        }
        s->ev = ne;
        s->evcap = c;
    }
    char *copy = malloc((size_t)n + 1);
    if (!copy) {
        s->oom = 1;
        return;
    }
    memcpy(copy, line, (size_t)n + 1);
    s->ev[s->nev++] = (sim_ev){t, s->evseq, copy};
}

static int cmp_ev(const void *a, const void *b)
{
    const sim_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- plant time ------------------------------------------------------------ */

#define MIN_US 60000000LL
#define HOUR_US 3600000000LL
#define DAY_US 86400000000LL

/* Two shifts Monday to Friday 06:00-22:00, Saturday 06:00-14:00 (UTC). */
static bool in_shift(int64_t t)
{
    int64_t day = t >= 0 ? t / DAY_US : (t - DAY_US + 1) / DAY_US;
    int wd = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    int64_t h = (t - day * DAY_US) / HOUR_US;
    if (wd >= 1 && wd <= 5)
        return h >= 6 && h < 22;
    if (wd == 6)
        return h >= 6 && h < 14;
    return false;
}

/* ---- CNC machines (AI4I 2020 rules, see docs/pipeline.md) ----------------- */

enum { ST_RUNNING = 0, ST_IDLE, ST_DOWN };
static const char *const st_names[] = {"running", "idle", "down"};
enum { FM_NONE = 0, FM_TWF, FM_HDF, FM_PWF, FM_OSF, FM_RNF };
static const char *const fm_names[] = {"none", "TWF", "HDF", "PWF", "OSF", "RNF"};

typedef struct mach {
    char id[16];
    int type;            /* 0 L, 1 M, 2 H */
    double air_dev;      /* air temperature random walk around 300 K */
    double proc_dev;     /* process temperature deviation (per process) */
    int wear;            /* tool wear at the start of the current process, min */
    double replace_at;   /* tool wear at which the tool is replaced or fails */
    int state;
    int64_t until;       /* end of the current process, idle or down period */
    bool in_process;
    int64_t proc_start;
    double torque, rpm;  /* process set points */
    int fail_mode;       /* of the current process */
    bool planned_change; /* tool replaced after this process without failure */
    int64_t idle_since;  /* when the current idle period began */
    uint64_t produced, good;
    double energy_kwh;
} mach;

static const char type_letter[] = {'L', 'M', 'H'};
static const int wear_inc[] = {2, 3, 5};                  /* AI4I: L +2, M +3, H +5 min */
static const double osf_limit[] = {11000, 12000, 13000}; /* AI4I: minNm per variant */

/* After go-live (sim.h): the plant responds to the programme. */
static bool live(const sim *s, int64_t t)
{
    return s->o->go_live_us && t >= s->o->go_live_us;
}

/* The wear at which the next tool is replaced: AI4I's 200-240 min; after
 * go-live maintenance changes tools earlier (170-200 min) because the model
 * watches wear. One draw either way, so the stream does not shift. */
static double next_replace_at(sim *s, int64_t t)
{
    return live(s, t) ? rng_uniform(&s->r, 170, 200) : rng_uniform(&s->r, 200, 240);
}

static void set_state(sim *s, mach *m, int st, int64_t t)
{
    if (m->state == st)
        return;
    m->state = st;
    if (st == ST_IDLE)
        m->idle_since = t;
    char tm[32];
    fmt_time(t, tm);
    ev_add(s, t, "machine.state", "agent:gw-1", "\"device\":\"%s\",\"state\":\"%s\",\"since\":\"%s\"",
           m->id, st_names[st], tm);
}

static void start_process(sim *s, mach *m, int64_t t)
{
    rng *r = &s->r;
    m->in_process = true;
    m->proc_start = t;
    m->until = t + (int64_t)rng_uniform(r, 20, 40) * MIN_US;
    /* torque: normal around 40 Nm, sd 10 Nm, no negative values (AI4I) */
    double tq = rng_normal(r, 40, 10);
    if (tq < 3.8)
        tq = 3.8;
    /* speed from a power set point with normal noise (calibration: docs) */
    double p = rng_normal(r, 6500, 1100);
    if (p < 500)
        p = 500;
    double rpm = p / tq * 60.0 / (2 * M_PI) + rng_normal(r, 0, 40);
    if (rpm < 1100)
        rpm = 1100;
    if (rpm > 2950)
        rpm = 2950;
    m->torque = tq;
    m->rpm = rpm;
    /* process temperature: air + 10 K with a random walk of sd 1 K (AI4I) */
    m->proc_dev = 0.7 * m->proc_dev + rng_normal(r, 0, sqrt(1 - 0.49));
    double air = 300 + m->air_dev;
    double proc = air + 10 + m->proc_dev;
    int wear_end = m->wear + wear_inc[m->type];
    double power_w = tq * rpm * 2 * M_PI / 60.0;
    m->fail_mode = FM_NONE;
    m->planned_change = false;
    bool tool_due = wear_end >= m->replace_at;
    /* After go-live a due tool is changed before the process when the warning
     * came (assumed 9 times in 10; the model's own detection is measured by
     * the report, not by this simulator). */
    if (tool_due && live(s, t) && rng_u(r) < 0.9) {
        m->wear = 0;
        wear_end = wear_inc[m->type];
        m->replace_at = next_replace_at(s, t);
        tool_due = false;
        s->st->warned_tool_changes++;
    }
    if (tool_due && rng_u(r) < 0.3)
        m->fail_mode = FM_TWF;
    else if (proc - air < 8.6 && rpm < 1380)
        m->fail_mode = FM_HDF;
    else if (power_w < 3500 || power_w > 9000)
        m->fail_mode = FM_PWF;
    else if (wear_end * tq > osf_limit[m->type])
        m->fail_mode = FM_OSF;
    else if (rng_u(r) < 0.001)
        m->fail_mode = FM_RNF;
    if (tool_due && m->fail_mode != FM_TWF)
        m->planned_change = true;
}

static void emit_cnc(sim *s, mach *m, int64_t t)
{
    rng *r = &s->r;
    double dt_h = (double)s->o->interval_s / 3600.0;
    /* ambient: AR(1) around 300 K with stationary sd 2 K */
    const double phi = 0.995;
    m->air_dev = phi * m->air_dev + rng_normal(r, 0, 2 * sqrt(1 - phi * phi));
    double air = 300 + m->air_dev;

    if (m->state == ST_DOWN && t >= m->until)
        set_state(s, m, in_shift(t) ? ST_RUNNING : ST_IDLE, t);
    if (m->state == ST_IDLE && t >= m->until && in_shift(t))
        set_state(s, m, ST_RUNNING, t);
    if (m->state == ST_RUNNING && !m->in_process) {
        if (!in_shift(t)) {
            set_state(s, m, ST_IDLE, t);
            m->until = t;
        } else if (rng_u(r) < 0.03) { /* waiting for material */
            set_state(s, m, ST_IDLE, t);
            m->until = t + (int64_t)rng_uniform(r, 10, 30) * MIN_US;
        } else {
            start_process(s, m, t);
        }
    }

    char tm[32], line[1024];
    fmt_time(t, tm);
    if (m->state == ST_RUNNING && m->in_process) {
        double elapsed = (double)(t - m->proc_start) / (double)(m->until - m->proc_start);
        int wear = m->wear + (int)(wear_inc[m->type] * elapsed);
        double rpm = m->rpm + rng_normal(r, 0, 3);
        double tq = m->torque + rng_normal(r, 0, 0.3);
        if (tq < 0)
            tq = 0;
        double proc = air + 10 + m->proc_dev + rng_normal(r, 0, 0.05);
        double kw = tq * rpm * 2 * M_PI / 60.0 / 1000.0;
        m->energy_kwh += kw * dt_h;
        bool last = t + s->o->interval_s * 1000000LL >= m->until;
        char insp[48] = "";
        if (last) {
            double pf = 0.01 + 0.05 * pow(m->wear / 240.0, 2);
            bool pass = m->fail_mode == FM_NONE && rng_u(r) >= pf;
            m->produced++;
            if (pass)
                m->good++;
            snprintf(insp, sizeof insp, ",\"inspection\":\"%s\"", pass ? "pass" : "fail");
        }
        int n = snprintf(line, sizeof line,
                         "{\"device\":\"%s\",\"time\":\"%s\",\"values\":{\"machine_type\":\"%c\","
                         "\"state\":\"running\",\"air_temp_k\":%.2f,\"process_temp_k\":%.2f,"
                         "\"rotational_speed_rpm\":%.0f,\"torque_nm\":%.1f,\"tool_wear_min\":%d,"
                         "\"power_kw\":%.3f,\"energy_kwh\":%.3f,\"produced\":%llu,\"good\":%llu%s,"
                         "\"failure\":%d,\"failure_mode\":\"%s\"}}\n",
                         m->id, tm, type_letter[m->type], air, proc, rpm, tq, wear, kw,
                         m->energy_kwh, (unsigned long long)m->produced,
                         (unsigned long long)m->good, insp, m->fail_mode ? 1 : 0,
                         fm_names[m->fail_mode]);
        fwrite(line, 1, (size_t)n, s->tel);
        s->st->readings++;
        if (m->fail_mode)
            s->st->failure_readings++;
        if (last) {
            m->in_process = false;
            m->wear += wear_inc[m->type];
            if (m->fail_mode) {
                s->st->failures++;
                s->st->by_mode[m->fail_mode]++;
                int64_t end = t + s->o->interval_s * 1000000LL;
                bool tool = m->fail_mode == FM_TWF || m->fail_mode == FM_OSF;
                /* After go-live a predictable failure (every mode but RNF) was
                 * announced: tool and parts are ready, the repair is shorter. */
                bool prepared = live(s, t) && m->fail_mode != FM_RNF;
                set_state(s, m, ST_DOWN, end);
                m->until = end + (int64_t)(tool ? (prepared ? rng_uniform(r, 10, 25)
                                                            : rng_uniform(r, 15, 60))
                                                : (prepared ? rng_uniform(r, 20, 60)
                                                            : rng_uniform(r, 30, 180))) *
                                     MIN_US;
                if (tool) {
                    m->wear = 0;
                    m->replace_at = next_replace_at(s, t);
                }
            } else {
                s->st->by_mode[FM_NONE]++;
                if (m->planned_change) {
                    m->wear = 0;
                    m->replace_at = next_replace_at(s, t);
                }
            }
        }
        return;
    }
    /* Idle spindle 0.8 kW, a stopped machine 0.3 kW. After go-live the
     * controller's edge rule powers an idle spindle down after 10 minutes. */
    double kw = m->state == ST_DOWN ? 0.3
                : live(s, t) && t - m->idle_since >= 10 * MIN_US ? 0.25
                                                                 : 0.8;
    m->energy_kwh += kw * dt_h;
    int n = snprintf(line, sizeof line,
                     "{\"device\":\"%s\",\"time\":\"%s\",\"values\":{\"machine_type\":\"%c\","
                     "\"state\":\"%s\",\"air_temp_k\":%.2f,\"process_temp_k\":%.2f,"
                     "\"rotational_speed_rpm\":0,\"torque_nm\":0.0,\"tool_wear_min\":%d,"
                     "\"power_kw\":%.3f,\"energy_kwh\":%.3f,\"produced\":%llu,\"good\":%llu,"
                     "\"failure\":0,\"failure_mode\":\"none\"}}\n",
                     m->id, tm, type_letter[m->type], st_names[m->state], air,
                     air + 1.0 + rng_normal(r, 0, 0.1), m->wear, kw, m->energy_kwh,
                     (unsigned long long)m->produced, (unsigned long long)m->good);
    fwrite(line, 1, (size_t)n, s->tel);
    s->st->readings++;
}

/* ---- the PLC behind gw-1 and the camera ------------------------------------ */

typedef struct line_state {
    int plc_state; /* 0 run, 1 stop, 2 fault */
    int64_t fault_until;
    uint64_t total, good, energy_wh;
    int alarm;
    int64_t cam_fw_change; /* from then on the camera sends exposure_ms */
    int64_t plc2_from, plc2_to; /* an unregistered PLC on the gateway */
} line_state;

static void emit_line(sim *s, line_state *ls, int64_t t)
{
    rng *r = &s->r;
    char tm[32], line[1024];
    fmt_time(t, tm);
    bool shift = in_shift(t);
    if (ls->plc_state == 2 && t >= ls->fault_until) {
        ls->plc_state = shift ? 0 : 1;
        ls->alarm = 0;
    } else if (ls->plc_state != 2) {
        ls->plc_state = shift ? 0 : 1;
        if (shift && rng_u(r) < 0.004) {
            ls->plc_state = 2;
            ls->fault_until = t + (int64_t)rng_uniform(r, 10, 45) * MIN_US;
            ls->alarm = 200 + (int)(rng_u(r) * 40);
        }
    }
    static const char *const ps[] = {"run", "stop", "fault"};
    double cur = 0.5, speed = 0;
    if (ls->plc_state == 0) {
        cur = rng_normal(r, 42, 3);
        speed = rng_normal(r, 38, 1.5);
        uint64_t parts = (uint64_t)(speed * 5 / 0.8);
        uint64_t rej = (uint64_t)fmax(0, rng_normal(r, parts * 0.01, 1.5));
        ls->total += parts;
        ls->good += parts - (rej < parts ? rej : parts);
    }
    ls->energy_wh += (uint64_t)(cur * 0.59 * 1000 * 5 / 60);
    /* a register read glitch now and then: 0xFFFF scaled by 0.1 A */
    if (rng_u(r) < 0.001)
        cur = 6553.5;
    int n = snprintf(line, sizeof line,
                     "{\"device\":\"plc-01\",\"time\":\"%s\",\"values\":{\"state\":\"%s\","
                     "\"motor_current_a\":%.1f,\"line_speed_mpm\":%.1f,\"counter_total\":%llu,"
                     "\"counter_good\":%llu,\"energy_wh\":%llu,\"alarm_code\":%d}}\n",
                     tm, ps[ls->plc_state], cur, speed, (unsigned long long)ls->total,
                     (unsigned long long)ls->good, (unsigned long long)ls->energy_wh, ls->alarm);
    fwrite(line, 1, (size_t)n, s->tel);
    s->st->readings++;
    if (t >= ls->plc2_from && t < ls->plc2_to) {
        n = snprintf(line, sizeof line,
                     "{\"device\":\"plc-02\",\"time\":\"%s\",\"values\":{\"state\":\"stop\","
                     "\"motor_current_a\":0.4,\"line_speed_mpm\":0.0,\"counter_total\":0,"
                     "\"counter_good\":0}}\n",
                     tm);
        fwrite(line, 1, (size_t)n, s->tel);
        s->st->readings++;
    }
    /* camera */
    char extra[160] = "";
    bool insp = ls->plc_state == 0;
    if (insp) {
        static const char *const defects[] = {"scratch", "dent", "burr", "missing_part"};
        bool fail = rng_u(r) < 0.02;
        snprintf(extra, sizeof extra,
                 "\"inspection\":\"%s\",\"defect_class\":\"%s\",\"confidence\":%.3f,",
                 fail ? "fail" : "pass", fail ? defects[rng_next(r) % 4] : "none",
                 rng_uniform(r, 0.85, 0.99));
    }
    bool v2 = t >= ls->cam_fw_change;
    char expo[40] = "";
    if (v2)
        snprintf(expo, sizeof expo, ",\"exposure_ms\":%.2f", rng_uniform(r, 2, 8));
    n = snprintf(line, sizeof line,
                 "{\"device\":\"cam-01\",\"time\":\"%s\",\"values\":{%s\"inference_ms\":%.1f,"
                 "\"board_temp_c\":%.1f,\"model_version\":\"%s\"%s}}\n",
                 tm, extra, rng_normal(r, insp ? 38 : 2, insp ? 4 : 0.2),
                 rng_normal(r, insp ? 52 : 41, 2), v2 ? "insp-net-1.4" : "insp-net-1.3", expo);
    fwrite(line, 1, (size_t)n, s->tel);
    s->st->readings++;
}

/* ---- the audit event stream --------------------------------------------------- */

static void firmware_change(sim *s, int64_t t, int k, const char *cls, const char *version,
                            const char *source, int violation)
{
    /* violation: 0 none, 1 approved by the requester (not the Accountable),
     * 2 deployed despite a failed scan, 3 no consultation and a late inform */
    rng *r = &s->re;
    char sha[65], build[17], chg[16];
    rng_hex(r, sha);
    memcpy(build, sha + 40, 16);
    build[16] = 0;
    snprintf(chg, sizeof chg, "CHG-%03d", k);
    bool fail = violation == 2;
    ev_add(s, t, "firmware.scan", "dave",
           "\"artifact_sha256\":\"%s\",\"scanner\":\"binscan-2\",\"result\":\"%s\","
           "\"critical\":%d",
           sha, fail ? "fail" : "pass", fail ? 2 : 0);
    ev_add(s, t + 1 * HOUR_US, "change.request", "grace",
           "\"change_id\":\"%s\",\"activity\":\"firmware:%s\",\"target\":\"firmware:%s@%s\","
           "\"artifact_sha256\":\"%s\"",
           chg, cls, cls, version, sha);
    if (violation != 3)
        ev_add(s, t + 3 * HOUR_US, "change.consult", "dave",
               "\"change_id\":\"%s\",\"activity\":\"firmware:%s\"", chg, cls);
    ev_add(s, t + 5 * HOUR_US, "change.approve", violation == 1 ? "grace" : "alice",
           "\"change_id\":\"%s\",\"activity\":\"firmware:%s\",\"artifact_sha256\":\"%s\"", chg,
           cls, sha);
    int64_t dep = t + 26 * HOUR_US;
    ev_add(s, dep, "firmware.deploy", "grace",
           "\"change_id\":\"%s\",\"activity\":\"firmware:%s\",\"device_class\":\"%s\","
           "\"version\":\"%s\",\"artifact_sha256\":\"%s\",\"device\":\"%s\","
           "\"provenance\":{\"source\":\"%s\",\"build_id\":\"%s\"}",
           chg, cls, cls, version, sha,
           !strcmp(cls, "plc") ? "plc-01" : !strcmp(cls, "camera") ? "cam-01" : "cnc-01", source,
           build);
    ev_add(s, dep + (violation == 3 ? 40 : 2) * HOUR_US, "notify.inform", "erin",
           "\"activity\":\"firmware:%s\",\"ref\":\"%s\"", cls, chg);
}

static void incident(sim *s, int64_t t, int k, const char *sev, const char *opener,
                     const char *summary, double ack_h, double resolve_h, bool review)
{
    char id[16];
    snprintf(id, sizeof id, "INC-%03d", k);
    ev_add(s, t, "incident.open", opener,
           "\"incident_id\":\"%s\",\"severity\":\"%s\",\"activity\":\"incident:plant-1\","
           "\"summary\":\"%s\"",
           id, sev, summary);
    ev_add(s, t + (int64_t)(ack_h * HOUR_US), "incident.ack", "alice", "\"incident_id\":\"%s\"",
           id);
    ev_add(s, t + (int64_t)(1.5 * HOUR_US), "notify.inform", "erin",
           "\"activity\":\"incident:plant-1\",\"ref\":\"%s\"", id);
    ev_add(s, t + (int64_t)(resolve_h * HOUR_US), "incident.resolve", "alice",
           "\"incident_id\":\"%s\"", id);
    if (review)
        ev_add(s, t + (int64_t)((resolve_h + 48) * HOUR_US), "incident.review", "dave",
               "\"incident_id\":\"%s\"", id);
}

static void plant_events(sim *s, int64_t start, int64_t end, line_state *ls)
{
    rng *r = &s->re;
    int days = s->o->days;
    int64_t d0 = start + 8 * HOUR_US;
    /* access: grants at the start, two contractors who leave */
    static const char *const grants[][2] = {
        {"alice", "ot"},          {"grace", "ot"},          {"bob", "it"},
        {"carol", "data-science"}, {"dave", "cybersecurity"}, {"erin", "frontline"},
        {"frank", "compliance"},  {"henry", "ot"},          {"ivan", "it"}};
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++)
        ev_add(s, d0 + (int64_t)i * MIN_US, "access.grant", "bob",
               "\"principal\":\"%s\",\"role\":\"%s\"", grants[i][0], grants[i][1]);
    int64_t dep1 = start + (int64_t)(days * 0.4) * DAY_US + 16 * HOUR_US;
    ev_add(s, dep1, "principal.depart", "bob", "\"principal\":\"henry\"");
    ev_add(s, dep1 + 9 * DAY_US, "access.revoke", "bob", "\"principal\":\"henry\",\"role\":\"ot\"");
    int64_t dep2 = start + (int64_t)(days * 0.6) * DAY_US + 15 * HOUR_US;
    ev_add(s, dep2, "principal.depart", "bob", "\"principal\":\"ivan\"");
    ev_add(s, dep2 + 2 * HOUR_US, "access.revoke", "bob", "\"principal\":\"ivan\",\"role\":\"it\"");
    for (int d = 27, k = 0; d < days; d += 28, k++)
        ev_add(s, start + (int64_t)d * DAY_US + 10 * HOUR_US, "access.review", "bob",
               "\"scope\":\"plant-1\",\"result\":\"%s\"", k == 1 ? "fail" : "pass");
    /* backups daily (two missed), restore tests monthly (one fails) */
    int miss = days / 2;
    for (int d = 0; d < days; d++) {
        if (d == miss || d == miss + 1)
            continue;
        char sha[65];
        rng_hex(r, sha);
        ev_add(s, start + (int64_t)d * DAY_US + 2 * HOUR_US, "backup.taken", "agent:platform",
               "\"target\":\"ledger\",\"sha256\":\"%s\"", sha);
    }
    for (int d = 13, k = 0; d < days; d += 28, k++)
        ev_add(s, start + (int64_t)d * DAY_US + 11 * HOUR_US, "backup.restore_test", "bob",
               "\"target\":\"ledger\",\"result\":\"%s\"", k == 1 ? "fail" : "pass");
    /* No ledger.verify here: verification evidence is written by auditd's own
     * verify (docs/events.md, "Who may write what"), never by an agent. */
    /* firmware changes */
    firmware_change(s, start + (int64_t)(days * 0.15) * DAY_US + 9 * HOUR_US, 1, "plc",
                    "3.3.19", "vendor:plc-oem", 0);
    firmware_change(s, start + (int64_t)(days * 0.30) * DAY_US + 9 * HOUR_US, 2, "camera",
                    "2.4.1", "vendor:cam-oem", 0);
    firmware_change(s, start + (int64_t)(days * 0.50) * DAY_US + 9 * HOUR_US, 3, "plc",
                    "3.3.20", "vendor:plc-oem", 1);
    int64_t cam2 = start + (int64_t)(days * 0.60) * DAY_US + 9 * HOUR_US;
    firmware_change(s, cam2, 4, "camera", "2.5.0", "vendor:cam-oem", 2);
    ls->cam_fw_change = cam2 + 26 * HOUR_US;
    firmware_change(s, start + (int64_t)(days * 0.80) * DAY_US + 9 * HOUR_US, 5, "plc",
                    "3.4.0", "vendor:plc-oem", 3);
    /* incidents about every 10 days; a late ack, a late resolution, a missing review */
    static const char *const sev[] = {"low", "medium", "high", "medium", "critical"};
    static const char *const what[] = {
        "gateway gw-1 lost Modbus connection to plc-01", "camera cam-01 inference latency high",
        "unexpected outbound connection from gw-1", "tool breakage on a CNC line",
        "ransomware alert on the engineering workstation"};
    for (int d = 5, k = 1; d < days; d += 10, k++) {
        int i = (k - 1) % 5;
        int64_t t = start + (int64_t)d * DAY_US + (int64_t)(8 + rng_uniform(r, 0, 8)) * HOUR_US;
        double ack = rng_uniform(r, 0.5, 3), res = rng_uniform(r, 8, 48);
        if (k == 3)
            ack = 6.5;
        if (k == 5)
            res = 90;
        bool review = k != 8;
        static const char *const opener[] = {"agent:gw-1", "agent:cam-1", "dave", "agent:gw-1",
                                             "dave"};
        incident(s, t, k, sev[i], opener[i], what[i], ack, res, review);
    }
    /* two alerts, one acknowledged, one left open: the model platform's drift
     * alerts for the failure predictor, but never before the programme went
     * live (with --go-live, an earlier alert is the camera's own anomaly
     * alert: there is no model to drift yet). Not drift events: those are
     * auditd's drift monitor's drift.detected. */
    static const char *const alert_summary[2] = {"inference latency above 120 ms",
                                                 "board temperature above 80 Cel"};
    int64_t at[2] = {start + (int64_t)(days * 0.35) * DAY_US + 14 * HOUR_US,
                     start + (int64_t)(days * 0.70) * DAY_US + 14 * HOUR_US};
    for (int k = 0; k < 2; k++) {
        char id[16];
        snprintf(id, sizeof id, "ALR-%03d", k + 1);
        if (s->o->go_live_us && at[k] < s->o->go_live_us)
            ev_add(s, at[k], "alert.raise", "agent:cam-1",
                   "\"alert_id\":\"%s\",\"kind\":\"anomaly\",\"device\":\"cam-01\","
                   "\"summary\":\"%s\"",
                   id, alert_summary[k]);
        else
            ev_add(s, at[k], "alert.raise", "agent:platform",
                   "\"alert_id\":\"%s\",\"kind\":\"drift\",\"model\":\"failure-predictor\"",
                   id);
        if (k == 0)
            ev_add(s, at[k] + 3 * HOUR_US, "alert.ack", "carol", "\"alert_id\":\"%s\"", id);
    }
    /* go-live: the CNC controllers get the idle power-down rule (firmware
     * 7.3.0) through an orderly change, deployed at the go-live time */
    int64_t gl = s->o->go_live_us;
    if (gl && gl - 26 * HOUR_US >= start && gl < end)
        firmware_change(s, gl - 26 * HOUR_US, 6, "cnc", "cnc-ctl-7.3.0", "vendor:cnc-oem", 0);
    /* an unregistered PLC appears on the gateway for a day */
    ls->plc2_from = start + (int64_t)(days * 0.45) * DAY_US;
    ls->plc2_to = ls->plc2_from + DAY_US;
    (void)end;
}

/* ---- driver ------------------------------------------------------------------- */

void sim_opts_default(sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->days = 92;
    o->start_us = 1782864000000000LL; /* 2026-07-01T00:00:00Z */
    o->machines = 8;
    o->interval_s = 60;
}

int sim_parse_time(const char *s, int64_t *us)
{
    size_t n = strlen(s);
    if (n == 10) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%sT00:00:00Z", s);
        return rfc3339_parse(tmp, strlen(tmp), us) ? ADT_EINVAL : ADT_OK;
    }
    return rfc3339_parse(s, n, us) ? ADT_EINVAL : ADT_OK;
}

static int write_text(const char *dir, const char *name, const char *text, adt_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return adt_fail(err, ADT_EIO, "%s: cannot create: %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok &= fclose(f) == 0;
    return ok ? ADT_OK : adt_fail(err, ADT_EIO, "%s: write failed", path);
}

static int mkdir_p(const char *dir, adt_err *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return adt_fail(err, ADT_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    return ADT_OK;
}

int sim_run(const sim_opts *o, const char *out_dir, sim_stats *st, adt_err *err)
{
    memset(st, 0, sizeof *st);
    if (o->days < 1 || o->machines < 1 || o->machines > 1000 || o->interval_s < 1)
        return adt_fail(err, ADT_EINVAL, "days >= 1, 1..1000 machines, interval >= 1 s");
    char path[4096];
    int rc = mkdir_p(out_dir, err);
    if (!rc) {
        snprintf(path, sizeof path, "%s/profiles", out_dir);
        rc = mkdir_p(path, err);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/fixes", out_dir);
        rc = mkdir_p(path, err);
    }
    if (!rc)
        rc = write_text(out_dir, "profiles/cnc-mill.json", sim_profile_cnc, err);
    if (!rc)
        rc = write_text(out_dir, "profiles/legacy-plc.json", sim_profile_plc, err);
    if (!rc)
        rc = write_text(out_dir, "profiles/edge-camera.json", sim_profile_camera, err);
    if (!rc)
        rc = write_text(out_dir, "fixes/edge-camera.json", profile_camera_v2, err);
    if (rc)
        return rc;

    sim s = {0};
    s.o = o;
    s.st = st;
    rng_seed(&s.r, o->seed);
    rng_seed(&s.re, o->seed ^ 0x5eed5eed5eed5eedull);
    mach *ms = calloc((size_t)o->machines, sizeof *ms);
    if (!ms)
        return adt_fail(err, ADT_ENOMEM, "out of memory");

    char *devs = malloc((size_t)o->machines * 160 + 512);
    if (!devs) {
        free(ms);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    size_t dl = 0;
    for (int i = 0; i < o->machines; i++) {
        mach *m = &ms[i];
        snprintf(m->id, sizeof m->id, "cnc-%02d", i + 1);
        /* AI4I variant mix: L 50 %, M 30 %, H 20 % */
        double u = rng_u(&s.r);
        m->type = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
        m->air_dev = rng_normal(&s.r, 0, 2);
        m->replace_at = rng_uniform(&s.r, 200, 240);
        m->wear = (int)rng_uniform(&s.r, 0, 150);
        m->state = ST_IDLE;
        dl += (size_t)snprintf(devs + dl, 160,
                               "{\"device\":\"%s\",\"profile\":\"cnc-mill\",\"site\":\"plant-1\","
                               "\"firmware\":\"cnc-ctl-7.2\"}\n",
                               m->id);
    }
    dl += (size_t)snprintf(devs + dl, 512,
                           "{\"device\":\"plc-01\",\"profile\":\"legacy-plc\",\"site\":\"plant-1\","
                           "\"firmware\":\"3.3.18\"}\n"
                           "{\"device\":\"cam-01\",\"profile\":\"edge-camera\",\"site\":\"plant-1\","
                           "\"firmware\":\"2.4.0\"}\n");
    st->devices = o->machines + 2;
    rc = write_text(out_dir, "devices.ndjson", devs, err);
    free(devs);
    if (rc) {
        free(ms);
        return rc;
    }
    snprintf(path, sizeof path, "%s/telemetry.ndjson", out_dir);
    s.tel = fopen(path, "wb");
    if (!s.tel) {
        free(ms);
        return adt_fail(err, ADT_EIO, "%s: cannot create: %s", path, strerror(errno));
    }
    static char iobuf[1 << 20];
    setvbuf(s.tel, iobuf, _IOFBF, sizeof iobuf);

    int64_t start = o->start_us, end = o->start_us + (int64_t)o->days * DAY_US;
    line_state ls = {0};
    ls.plc_state = 1;
    plant_events(&s, start, end, &ls);
    int64_t step = o->interval_s * 1000000LL;
    int64_t line_step = 300 * 1000000LL;
    int64_t next_line = start;
    for (int64_t t = start; t < end; t += step) {
        while (next_line <= t) {
            emit_line(&s, &ls, next_line);
            next_line += line_step;
        }
        for (int i = 0; i < o->machines; i++)
            emit_cnc(&s, &ms[i], t);
    }
    free(ms);
    bool ok = !ferror(s.tel);
    ok &= fclose(s.tel) == 0;
    if (!ok)
        rc = adt_fail(err, ADT_EIO, "%s: write failed", path);
    if (!rc && s.oom)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory generating events");
    if (!rc) {
        qsort(s.ev, s.nev, sizeof *s.ev, cmp_ev);
        snprintf(path, sizeof path, "%s/events.ndjson", out_dir);
        FILE *f = fopen(path, "wb");
        if (!f) {
            rc = adt_fail(err, ADT_EIO, "%s: cannot create: %s", path, strerror(errno));
        } else {
            for (size_t i = 0; i < s.nev; i++)
                if (s.ev[i].t < end)
                    fputs(s.ev[i].line, f), st->events++;
            ok = !ferror(f);
            ok &= fclose(f) == 0;
            if (!ok)
                rc = adt_fail(err, ADT_EIO, "%s: write failed", path);
        }
    }
    for (size_t i = 0; i < s.nev; i++)
        free(s.ev[i].line);
    free(s.ev);
    return rc;
}
