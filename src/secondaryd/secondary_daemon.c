/* SPDX-License-Identifier: MIT */
/* uptane-secondaryd's event loop: DoIP and ISO-TP in front of the UDS handler. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "doip_server.h"
#include "isotp.h"
#include "log.h"
#include "secondary_daemon.h"
#include "daemon_event.h"
#include "daemon_macro.h"
#include "daemon_state.h"
#include "secondary_state.h"
#include "send_queue.h"
#include "uds_handler.h"
#include "uptane/json.h"
#include "uptane/storage.h"

#define DOIP_BLOCK_LEN ((1u << 20) + 2u)   /* TransferData: 1 MiB of data per request */
#define ISOTP_BLOCK_LEN 0xFFFFu            /* below the kernel's 66000-byte ISO-TP limit */
#define PENDING_INTERVAL_USEC (2u * 1000000u)

typedef enum JobOrigin {
        JOB_DOIP,
        JOB_ISOTP,
} JobOrigin;

typedef struct Daemon {
        SecondaryConfig *config;
        SecondaryState state;
        UpKey *time_key;
        SecondaryContext ctx;
        sd_event *event;
        DoipServer *doip;
        IsotpLink *isotp;
        SendQueue *isotp_out; /* its sends, off the loop */
        sd_event_source *isotp_source, *pending_timer, *done_source;

        /* The long routine on the worker thread. */
        bool busy;
        pthread_t worker;
        int done_fd;
        JobOrigin origin;
        uint16_t tester;
        uint8_t *req, *resp;
        size_t req_len, resp_len;
        int job_r;
} Daemon;

static int negative(uint8_t sid, uint8_t nrc, uint8_t **ret, size_t *ret_len) {
        uint8_t *b = malloc(3);

        if (!b)
                return -ENOMEM;
        b[0] = UDS_SID_NEGATIVE_RESPONSE, b[1] = sid, b[2] = nrc;
        *ret = b;
        *ret_len = 3;
        return 0;
}

static void note_reset(Daemon *d) {
        if (!d->ctx.reset_requested)
                return;
        d->ctx.reset_requested = false;
        LogFields f = { .ecu_serial = d->config->serial, .target = d->state.installed_name };
        log_event(LOG_NOTICE, LOG_EVENT_NONE, &f,
                  "ECU reset requested: slot %c (%s) is active; a file slot needs no reboot",
                  d->state.active_slot ? 'b' : 'a', d->state.installed_name);
}

/* --- The worker ------------------------------------------------------------------------------- */

static void *worker_main(void *userdata) {
        Daemon *d = userdata;
        uint64_t one = 1;

        d->job_r = secondary_uds_handle(&d->ctx, d->req, d->req_len, &d->resp, &d->resp_len);
        (void) !write(d->done_fd, &one, sizeof(one));
        return NULL;
}

static int start_job(Daemon *d, JobOrigin origin, uint16_t tester, const uint8_t *req, size_t len) {
        d->req = malloc(len);
        if (!d->req)
                return -ENOMEM;
        memcpy(d->req, req, len);
        d->req_len = len;
        d->origin = origin;
        d->tester = tester;
        d->resp = NULL;
        d->resp_len = 0;
        if (pthread_create(&d->worker, NULL, worker_main, d) != 0) {
                d->req = (free(d->req), NULL);
                return -EAGAIN;
        }
        d->busy = true;
        return 0;
}

/* Queued: the sender thread waits for the kernel (and the Primary's flow control), not the loop. */
static void send_isotp(Daemon *d, const uint8_t *msg, size_t len) {
        int r;

        if (!d->isotp_out || len == 0)
                return;
        r = send_queue_push(d->isotp_out, msg, len);
        if (r < 0)
                log_warning("ISO-TP: cannot send the response: %s", r == -ENOBUFS
                                    ? "the Primary does not take the earlier ones" : strerror(-r));
}

static int on_job_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        uint64_t v;
        int r;

        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        pthread_join(d->worker, NULL);
        d->busy = false;
        (void) sd_event_source_set_enabled(d->pending_timer, SD_EVENT_OFF);
        if (d->job_r < 0)
                (void) negative(d->req[0], UDS_NRC_GENERAL_REJECT, &d->resp, &d->resp_len);
        if (d->origin == JOB_DOIP) {
                r = doip_server_respond(d->doip, d->tester, d->resp, d->resp ? d->resp_len : 0);
                if (r < 0)
                        log_warning("DoIP: tester 0x%04X went away before the routine ended", d->tester);
        } else
                send_isotp(d, d->resp, d->resp ? d->resp_len : 0);
        d->req = (free(d->req), NULL);
        d->resp = (free(d->resp), NULL);
        return 0;
}

/* --- DoIP -------------------------------------------------------------------------------------- */

static int on_doip_request(void *userdata, uint16_t tester_sa, const uint8_t *req, size_t len, uint8_t **resp,
                           size_t *resp_len) {
        Daemon *d = userdata;
        int r;

        if (d->busy)
                return negative(req[0], UDS_NRC_BUSY_REPEAT_REQUEST, resp, resp_len);
        d->ctx.max_block_len = DOIP_BLOCK_LEN;
        if (secondary_uds_is_long(req, len)) {
                r = start_job(d, JOB_DOIP, tester_sa, req, len);
                return r < 0 ? r : -EINPROGRESS;
        }
        r = secondary_uds_handle(&d->ctx, req, len, resp, resp_len);
        note_reset(d);
        return r;
}

static int setup_doip(Daemon *d) {
        const SecondaryConfig *c = d->config;
        DoipServerOptions o;
        uint16_t tcp, udp;
        int r;

        doip_server_options_init(&o);
        o.address = c->doip_address;
        o.port = (uint16_t) c->doip_port;
        o.logical_address = (uint16_t) c->doip_logical_address;
        o.tester_min = (uint16_t) c->doip_tester_min;
        o.tester_max = (uint16_t) c->doip_tester_max;
        o.pending_interval_ms = PENDING_INTERVAL_USEC / 1000u;
        o.on_request = on_doip_request;
        o.userdata = d;
        if (c->vin)
                memcpy(o.vin, c->vin, strnlen(c->vin, sizeof(o.vin)));
        r = doip_server_new(&o, &d->doip);
        if (r < 0) {
                log_error("DoIP: cannot listen on %s port %u: %s", c->doip_address, (unsigned) c->doip_port,
                          strerror(-r));
                return r;
        }
        r = doip_server_attach_event(d->doip, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        doip_server_get_ports(d->doip, &tcp, &udp);
        log_info("DoIP: listening on %s TCP port %u (UDP %u), logical address 0x%04X", c->doip_address, tcp, udp,
                 (unsigned) c->doip_logical_address);
        return 0;
}

/* --- ISO-TP ------------------------------------------------------------------------------------ */

static int on_pending_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        const uint8_t pending[3] = { UDS_SID_NEGATIVE_RESPONSE, UDS_SID_ROUTINE_CONTROL, UDS_NRC_RESPONSE_PENDING };

        send_isotp(d, pending, sizeof(pending));
        (void) sd_event_source_set_time(s, usec + PENDING_INTERVAL_USEC);
        return 0;
}

static void isotp_long_request(Daemon *d, const uint8_t *req, size_t len) {
        const uint8_t pending[3] = { UDS_SID_NEGATIVE_RESPONSE, req[0], UDS_NRC_RESPONSE_PENDING };
        uint64_t now;

        send_isotp(d, pending, sizeof(pending));
        if (start_job(d, JOB_ISOTP, 0, req, len) < 0) {
                const uint8_t reject[3] = { UDS_SID_NEGATIVE_RESPONSE, req[0], UDS_NRC_GENERAL_REJECT };
                send_isotp(d, reject, sizeof(reject));
                return;
        }
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(d->pending_timer, now + PENDING_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(d->pending_timer, SD_EVENT_ON);
}

static int on_isotp(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        _cleanup_free_ uint8_t *req = NULL, *resp = NULL;
        size_t len, resp_len = 0;
        int r;

        (void) s, (void) fd, (void) revents;
        r = isotp_link_recv(d->isotp, &req, &len, 0);
        if (r < 0) {
                if (r != -ETIMEDOUT && r != -EAGAIN)
                        log_warning("ISO-TP: receive failed: %s", strerror(-r));
                return 0;
        }
        if (len == 0)
                return 0;
        if (d->busy)
                r = negative(req[0], UDS_NRC_BUSY_REPEAT_REQUEST, &resp, &resp_len);
        else if (secondary_uds_is_long(req, len)) {
                isotp_long_request(d, req, len);
                return 0;
        } else {
                d->ctx.max_block_len = ISOTP_BLOCK_LEN;
                r = secondary_uds_handle(&d->ctx, req, len, &resp, &resp_len);
                note_reset(d);
        }
        if (r >= 0)
                send_isotp(d, resp, resp_len);
        return 0;
}

static int setup_isotp(Daemon *d) {
        const SecondaryConfig *c = d->config;
        IsotpOptions o = isotp_options_default((uint32_t) c->isotp_tx_id, (uint32_t) c->isotp_rx_id);
        int r;

        o.extended_ids = c->isotp_tx_id > ISOTP_CAN_SFF_MAX || c->isotp_rx_id > ISOTP_CAN_SFF_MAX;
        o.padding = c->isotp_padding == CONF_UNSET ? -1 : (int) c->isotp_padding;
        o.block_size = (uint8_t) c->isotp_block_size;
        o.stmin = (uint8_t) c->isotp_stmin;
        o.can_fd = c->isotp_fd;
        if (c->isotp_fd)
                o.tx_dl = 64;
        r = isotp_link_open(c->isotp_interface, &o, &d->isotp);
        if (r == -EAFNOSUPPORT)
                log_error("ISO-TP: this kernel has no CAN support (AF_CAN); load can-isotp or set [isotp] enabled = no");
        else if (r == -ENODEV)
                log_error("ISO-TP: no CAN interface %s ([isotp] interface)", c->isotp_interface);
        else if (r == -EINVAL)
                log_error("ISO-TP: the [isotp] options cannot work (ids, stmin)");
        else if (r < 0)
                log_error("ISO-TP: cannot open %s: %s", c->isotp_interface, strerror(-r));
        if (r < 0)
                return r;
        r = send_queue_new(isotp_link_transport(d->isotp), "ISO-TP", &d->isotp_out);
        if (r >= 0)
                r = sd_event_add_io(d->event, &d->isotp_source, isotp_link_fd(d->isotp), EPOLLIN, on_isotp, d);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->pending_timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_pending_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->pending_timer, SD_EVENT_OFF);
        if (r >= 0)
                log_info("ISO-TP: serving on %s, rx 0x%X, tx 0x%X%s", c->isotp_interface, (unsigned) c->isotp_rx_id,
                         (unsigned) c->isotp_tx_id, c->isotp_fd ? " (CAN FD)" : "");
        return r;
}

/* --- Set-up and the loop ----------------------------------------------------------------------- */

static int load_time_key(Daemon *d) {
        int r;

        if (!d->config->time_server_public_key)
                return 0;
        r = daemon_load_public_key(d->config->time_server_public_key, 64 * 1024, &d->time_key);
        if (r < 0)
                log_error("Cannot load the time server's key %s: %s", d->config->time_server_public_key, strerror(-r));
        return r;
}

static int setup_state(Daemon *d) {
        _cleanup_free_ char *message = NULL;
        bool created = false;
        int r;

        r = secondary_state_open(&d->state, d->config, &created, &message);
        if (r < 0) {
                log_error("%s", message ?: strerror(-r));
                return r;
        }
        if (created)
                log_notice("Generated this ECU's key in %s/ecu.key", d->config->state_directory);
        r = load_time_key(d);
        if (r < 0)
                return r;
        secondary_context_init(&d->ctx, d->config, &d->state, d->time_key);
        return 0;
}

static int setup_loop(Daemon *d) {
        /* SIGTERM and SIGINT end the loop (sd-event's own handler); no SIGHUP. */
        const DaemonEventSignals signals = { .on_stop = NULL, .userdata = NULL };
        int r;

        r = daemon_event_new(&d->event, &signals);
        if (r < 0)
                return r;
        d->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->done_fd < 0)
                return -errno;
        return sd_event_add_io(d->event, &d->done_source, d->done_fd, EPOLLIN, on_job_done, d);
}

static void teardown(Daemon *d) {
        if (d->busy) {
                pthread_join(d->worker, NULL);
                free(d->req);
                free(d->resp);
        }
        d->done_source = sd_event_source_unref(d->done_source);
        d->isotp_source = sd_event_source_unref(d->isotp_source);
        d->pending_timer = sd_event_source_unref(d->pending_timer);
        if (d->doip)
                doip_server_detach_event(d->doip);
        d->doip = doip_server_free(d->doip);
        d->isotp_out = send_queue_free(d->isotp_out);
        d->isotp = isotp_link_free(d->isotp);
        if (d->done_fd >= 0)
                (void) close(d->done_fd);
        d->event = sd_event_unref(d->event);
        secondary_context_done(&d->ctx);
        up_key_unref(d->time_key);
        secondary_state_close(&d->state);
}

static int transport_status(int r) {
        return r == -EAFNOSUPPORT || r == -ENODEV || r == -EADDRINUSE || r == -EADDRNOTAVAIL || r == -EINVAL
                       ? EX_CONFIG
                       : EX_SOFTWARE;
}

int secondary_daemon_run(SecondaryConfig *c) {
        Daemon d = { .config = c, .done_fd = -1 };
        int r, status = EX_SOFTWARE;

        r = setup_state(&d);
        if (r >= 0)
                r = setup_loop(&d);
        if (r >= 0 && c->doip_enabled && (r = setup_doip(&d)) < 0)
                status = transport_status(r);
        if (r >= 0 && c->isotp_enabled && (r = setup_isotp(&d)) < 0)
                status = transport_status(r);
        if (r >= 0) {
                LogFields f = { .ecu_serial = c->serial };
                log_event(LOG_INFO, LOG_EVENT_NONE, &f,
                          "uptane-secondaryd started: ECU %s, hardware %s, %s verification, image %s in slot %c",
                          c->serial, c->hardware_id, secondary_verification_to_string(c->verification),
                          d.state.installed_name, d.state.active_slot ? 'b' : 'a');
                (void) sd_notify(false, "READY=1\nSTATUS=serving");
                r = sd_event_loop(d.event);
                (void) sd_notify(false, "STOPPING=1");
                status = r < 0 ? EX_SOFTWARE : 0;
        }
        teardown(&d);
        return status;
}
