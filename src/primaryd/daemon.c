/* SPDX-License-Identifier: MIT */
/*
 * The event loop: signals (SIGTERM/SIGINT park the cycle and stop, SIGHUP
 * reloads the configuration between cycles), the systemd watchdog
 * (sd_event_set_watchdog), the poll timer, D-Bus, and the worker thread that
 * runs each update cycle. --once runs one cycle and stops with its result.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "uptane/json.h"
#include "uptane/storage.h"
#include "daemon.h"
#include "daemon_event.h"
#include "daemon_state.h"
#include "log.h"
#include "macro.h"

#define USEC_PER_SEC UINT64_C(1000000)

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* --- Status shared with the bus ------------------------------------------------------------------ */

static void copy_string(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ? src : "");
}

void daemon_set_state(Daemon *d, const char *state) {
        pthread_mutex_lock(&d->status.lock);
        copy_string(d->status.state, sizeof(d->status.state), state);
        pthread_mutex_unlock(&d->status.lock);
        (void) sd_notifyf(false, "STATUS=%s", state);
}

void daemon_set_progress(Daemon *d, uint64_t done, uint64_t total) {
        pthread_mutex_lock(&d->status.lock);
        d->status.progress_done = done;
        d->status.progress_total = total;
        pthread_mutex_unlock(&d->status.lock);
}

void daemon_set_result(Daemon *d, const char *fmt, ...) {
        va_list ap;

        pthread_mutex_lock(&d->status.lock);
        va_start(ap, fmt);
        vsnprintf(d->status.last_result, sizeof(d->status.last_result), fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&d->status.lock);
}

static void refresh_installed(Daemon *d) {
        ImageRecord rec;
        struct json_object *sha;

        pthread_mutex_lock(&d->status.lock);
        if (state_get_image(&d->state, "installed", &rec)) {
                copy_string(d->status.installed_target, sizeof(d->status.installed_target), rec.name);
                copy_string(d->status.installed_sha256, sizeof(d->status.installed_sha256),
                            json_object_object_get_ex(rec.hashes, "sha256", &sha) ? json_object_get_string(sha) : "");
        }
        copy_string(d->status.pending_target, sizeof(d->status.pending_target),
                    state_get_image(&d->state, "pending", &rec) ? rec.name : "");
        pthread_mutex_unlock(&d->status.lock);
}

/* Copies for the bus: valid until the loop runs again. */
static DaemonStatus bus_copy;
static BusEcu bus_ecu;

static void bus_get_status(void *userdata, BusStatus *ret) {
        Daemon *d = userdata;

        pthread_mutex_lock(&d->status.lock);
        memcpy(bus_copy.state, d->status.state, sizeof(bus_copy.state));
        memcpy(bus_copy.last_result, d->status.last_result, sizeof(bus_copy.last_result));
        *ret = (BusStatus) {
                .state = bus_copy.state,
                .progress_done = d->status.progress_done,
                .progress_total = d->status.progress_total,
                .last_check_usec = d->status.last_check_usec,
                .last_result = bus_copy.last_result,
                .next_check_usec = d->status.next_check_usec,
                .vin = d->config.vin,
                .primary_serial = d->config.ecu_serial,
        };
        pthread_mutex_unlock(&d->status.lock);
}

static void bus_get_ecus(void *userdata, const BusEcu **ret, size_t *ret_n) {
        Daemon *d = userdata;

        pthread_mutex_lock(&d->status.lock);
        memcpy(bus_copy.installed_target, d->status.installed_target, sizeof(bus_copy.installed_target));
        memcpy(bus_copy.installed_sha256, d->status.installed_sha256, sizeof(bus_copy.installed_sha256));
        memcpy(bus_copy.pending_target, d->status.pending_target, sizeof(bus_copy.pending_target));
        pthread_mutex_unlock(&d->status.lock);
        bus_ecu = (BusEcu) {
                .serial = d->config.ecu_serial,
                .hardware_id = d->config.hardware_id,
                .primary = true,
                .installed_target = bus_copy.installed_target,
                .installed_sha256 = bus_copy.installed_sha256,
                .pending_target = bus_copy.pending_target,
        };
        *ret = &bus_ecu;
        *ret_n = 1;
}

static int start_cycle(Daemon *d);

static int bus_check_now(void *userdata) {
        Daemon *d = userdata;

        if (d->worker_running || d->stopping)
                return -EBUSY;
        return start_cycle(d);
}

/* --- The worker ------------------------------------------------------------------------------------ */

static void *worker_main(void *userdata) {
        Daemon *d = userdata;
        uint64_t one = 1;

        d->last_cycle = cycle_run(d);
        if (write(d->worker_done_fd, &one, sizeof(one)) < 0)
                abort(); /* an eventfd write cannot fail here; the loop would hang */
        return NULL;
}

static void schedule_next(Daemon *d, uint64_t delay_usec) {
        uint64_t now;

        if (!d->poll_timer)
                return;
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(d->poll_timer, now + delay_usec);
        (void) sd_event_source_set_enabled(d->poll_timer, SD_EVENT_ONESHOT);
        pthread_mutex_lock(&d->status.lock);
        d->status.next_check_usec = now_realtime_usec() + delay_usec;
        pthread_mutex_unlock(&d->status.lock);
}

static int start_cycle(Daemon *d) {
        int r;

        if (d->worker_running)
                return -EBUSY;
        atomic_store(&d->cancel, false);
        daemon_set_state(d, "checking");
        if (d->bus)
                bus_emit_status_changed(d->bus);
        r = -pthread_create(&d->worker, NULL, worker_main, d);
        if (r < 0) {
                log_error("Cannot start the update worker: %s", strerror(-r));
                return r;
        }
        d->worker_running = true;
        pthread_mutex_lock(&d->status.lock);
        d->status.next_check_usec = 0;
        pthread_mutex_unlock(&d->status.lock);
        return 0;
}

static int reload_config(Daemon *d);

static int on_worker_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        uint64_t v;

        (void) s;
        (void) revents;
        if (read(fd, &v, sizeof(v)) < 0)
                return 0;
        pthread_join(d->worker, NULL);
        d->worker_running = false;
        pthread_mutex_lock(&d->status.lock);
        d->status.last_check_usec = now_realtime_usec();
        pthread_mutex_unlock(&d->status.lock);
        refresh_installed(d);
        daemon_set_state(d, d->stopping ? "stopping" : "idle");
        if (d->last_cycle == CYCLE_FATAL && !d->once && !d->stopping)
                log_error("Stopping: the update cycle cannot go on");
        if (d->once || d->stopping || d->last_cycle == CYCLE_FATAL)
                return sd_event_exit(d->event, 0);
        if (d->reload_requested)
                (void) reload_config(d);
        if (d->check_requested) {
                d->check_requested = false;
                (void) start_cycle(d);
        } else
                schedule_next(d, d->config.poll_interval_s * USEC_PER_SEC);
        if (d->bus)
                bus_emit_status_changed(d->bus);
        return 0;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        return start_cycle(userdata) == -EBUSY ? 0 : 0;
}

/* --- Signals ------------------------------------------------------------------------------------- */

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        if (d->stopping)
                return 0;
        d->stopping = true;
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopping (signal %u)%s", si->ssi_signo, d->worker_running ? ": parking the update cycle" : "");
        if (!d->worker_running)
                return sd_event_exit(d->event, 0);
        /* The worker stops at its next safe point: transfers end, files are
         * written whole or not at all, state.json stays consistent. */
        atomic_store(&d->cancel, true);
        http_cancel_all(d->http);
        return 0;
}

static int reload_config(Daemon *d) {
        PrimaryConfig c;
        _cleanup_free_ char *message = NULL;
        int r;

        d->reload_requested = false;
        r = primary_config_init(&c);
        if (r >= 0)
                r = primary_config_load(&c, d->config_path, &message);
        if (r < 0) {
                log_error("Reload refused, keeping the running configuration: %s", message ?: strerror(-r));
                primary_config_done(&c);
                return r;
        }
        /* Identity and storage need a restart; the rest applies from the next cycle. */
        if (strcmp(c.vin, d->config.vin) != 0 || strcmp(c.ecu_serial, d->config.ecu_serial) != 0 ||
            strcmp(c.state_directory, d->config.state_directory) != 0)
                log_warning("VIN, ECU serial and state directory changes need a restart; the rest is reloaded");
        {
                PrimaryConfig old = d->config;
                free(c.vin);
                c.vin = old.vin;
                old.vin = NULL;
                free(c.ecu_serial);
                c.ecu_serial = old.ecu_serial;
                old.ecu_serial = NULL;
                free(c.state_directory);
                c.state_directory = old.state_directory;
                old.state_directory = NULL;
                d->config = c;
                primary_config_done(&old);
        }
        log_info("Configuration reloaded from %s", d->config_path);
        schedule_next(d, d->config.poll_interval_s * USEC_PER_SEC);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        (void) si;
        (void) sd_notify(false, "RELOADING=1");
        if (d->worker_running)
                d->reload_requested = true; /* after the cycle: never under its feet */
        else
                (void) reload_config(d);
        (void) sd_notify(false, "READY=1");
        return 0;
}

/* --- Set-up ----------------------------------------------------------------------------------- */

static int setup_loop(Daemon *d) {
        /* Blocked before any thread starts, so that workers inherit it. */
        const DaemonEventSignals signals = {
                .on_stop = on_stop_signal, .on_reload = on_sighup, .block_sigpipe = true, .userdata = d
        };
        int r;

        r = daemon_event_new(&d->event, &signals);
        if (r < 0)
                return r;
        d->worker_done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->worker_done_fd < 0)
                return -errno;
        r = sd_event_add_io(d->event, &d->worker_done_source, d->worker_done_fd, EPOLLIN, on_worker_done, d);
        if (r >= 0 && !d->once)
                r = sd_event_add_time(d->event, &d->poll_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_poll_timer, d);
        if (r >= 0 && d->poll_timer)
                r = sd_event_source_set_enabled(d->poll_timer, SD_EVENT_OFF);
        return r;
}

static int setup_http(Daemon *d) {
        HttpOptions o = {
                .connect_timeout_s = (long) d->config.connect_timeout_s,
                .low_speed_bytes = (long) d->config.min_bytes_per_second,
                .low_speed_time_s = (long) d->config.min_speed_window_s,
                .max_recv_bytes_per_s = (int64_t) d->config.max_bytes_per_second,
                .ca_file = d->config.ca_file,
                .client_cert = d->config.client_certificate,
                .client_key = d->config.client_key,
        };
        return http_new(d->event, &o, &d->http);
}

static int setup_bus(Daemon *d) {
        static const BusKind kinds[] = { [CONTROL_BUS_SYSTEM] = BUS_KIND_SYSTEM, [CONTROL_BUS_USER] = BUS_KIND_USER };
        BusProvider p = { bus_get_status, bus_get_ecus, bus_check_now, d };
        int r;

        if (d->once || d->config.control_bus == CONTROL_BUS_NONE)
                return 0;
        r = bus_open(d->event, kinds[d->config.control_bus], NULL, &p, &d->bus);
        if (r < 0)
                log_error("Cannot offer org.uptane.Primary1 on the %s bus: %s",
                          d->config.control_bus == CONTROL_BUS_SYSTEM ? "system" : "user", strerror(-r));
        return r;
}

static int load_time_server_key(Daemon *d) {
        int r;

        if (!d->config.time_server_url)
                return 0;
        r = daemon_load_public_key(d->config.time_server_public_key, 64 * 1024, &d->time_server_key);
        if (r < 0)
                log_error("Cannot load the time server's key %s: %s", d->config.time_server_public_key,
                          strerror(-r));
        return r;
}

/* A Secondary that cannot be set up (key file, CAN interface) is left out:
 * the others and the Primary still update. */
static int open_secondaries(Daemon *d) {
        d->secondaries = calloc(d->config.n_secondaries ?: 1, sizeof(Secondary *));
        if (!d->secondaries)
                return -ENOMEM;
        for (size_t i = 0; i < d->config.n_secondaries; i++) {
                const SecondaryConfig *sc = &d->config.secondaries[i];
                LogFields f = { .ecu_serial = sc->serial };
                _cleanup_free_ char *message = NULL;
                int r;

                r = secondary_new_from_config(sc, &d->secondaries[d->n_secondaries], &message);
                if (r < 0) {
                        f.error = r;
                        log_event(LOG_ERR, LOG_EVENT_NONE, &f, "Secondary %s left out: %s", sc->name,
                                  message ?: strerror(-r));
                        continue;
                }
                d->n_secondaries++;
        }
        return 0;
}

static void close_secondaries(Daemon *d) {
        for (size_t i = 0; i < d->n_secondaries; i++)
                secondary_free(d->secondaries[i]);
        free(d->secondaries);
        d->secondaries = NULL;
        d->n_secondaries = 0;
}

static int setup_state(Daemon *d) {
        _cleanup_free_ char *message = NULL;
        bool created;
        int r;

        r = state_open(&d->state, d->config.state_directory, d->config.director_root, d->config.image_root, &message);
        if (r < 0) {
                log_error("%s", message ?: strerror(-r));
                return r;
        }
        r = state_load_or_create_key(&d->state, &d->ecu_key, &created);
        if (r < 0) {
                log_error("Cannot load or create the ECU key in %s: %s", d->config.state_directory, strerror(-r));
                return r;
        }
        if (created)
                log_notice("Generated this ECU's key in %s/ecu.key", d->config.state_directory);
        r = package_manager_new(&d->config, &d->pm, &message);
        if (r < 0) {
                log_error("%s", message ?: strerror(-r));
                return r;
        }
        refresh_installed(d);
        d->attested_time = (time_t) state_get_int(&d->state, "time_attested", 0);
        d->attested_previous = (time_t) state_get_int(&d->state, "time_previous", d->attested_time);
        r = load_time_server_key(d);
        return r < 0 ? r : open_secondaries(d);
}

static void teardown(Daemon *d) {
        if (d->worker_running) {
                atomic_store(&d->cancel, true);
                http_cancel_all(d->http);
                pthread_join(d->worker, NULL);
        }
        d->bus = bus_close(d->bus);
        d->http = http_free(d->http);
        d->poll_timer = sd_event_source_unref(d->poll_timer);
        d->worker_done_source = sd_event_source_unref(d->worker_done_source);
        if (d->worker_done_fd >= 0)
                close(d->worker_done_fd);
        d->event = sd_event_unref(d->event);
        d->pm = package_manager_free(d->pm);
        close_secondaries(d);
        up_key_unref(d->ecu_key);
        up_key_unref(d->time_server_key);
        state_close(&d->state);
        pthread_mutex_destroy(&d->status.lock);
}

int daemon_run(Daemon *d) {
        int r;

        pthread_mutex_init(&d->status.lock, NULL);
        d->worker_done_fd = -1;
        copy_string(d->status.state, sizeof(d->status.state), "idle");
        r = setup_state(d);
        if (r >= 0)
                r = setup_loop(d);
        if (r >= 0)
                r = setup_http(d);
        if (r >= 0)
                r = setup_bus(d);
        if (r < 0) {
                teardown(d);
                return CYCLE_FATAL;
        }
        r = start_cycle(d);
        if (r >= 0) {
                LogFields f = { .ecu_serial = d->config.ecu_serial };
                log_event(LOG_INFO, LOG_EVENT_STARTED, &f, "uptane-primaryd started for VIN %s, ECU %s", d->config.vin,
                          d->config.ecu_serial);
                (void) sd_notify(false, "READY=1\nSTATUS=checking");
                r = sd_event_loop(d->event);
        }
        (void) sd_notify(false, "STOPPING=1");
        /* A fatal cycle ends the daemon too: not with 0, or Restart=on-failure would not restart it. */
        r = r < 0 || d->last_cycle == CYCLE_FATAL ? CYCLE_FATAL : d->once ? (int) d->last_cycle : 0;
        teardown(d);
        return r;
}
