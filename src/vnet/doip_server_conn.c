/* SPDX-License-Identifier: MIT */
/* One tester connection of the DoIP entity (doip_server_internal.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doip_internal.h"
#include "doip_server_internal.h"

/* After its last message, a closing socket waits this long for the
 * tester's FIN before it is closed anyway. */
#define CLOSING_LINGER_MS 1000u
/* Output queued beyond one largest message: the tester does not read. */
#define OUT_SLACK (64u * 1024u)

#define UDS_NEGATIVE_RESPONSE 0x7Fu
#define UDS_NRC_GENERAL_REJECT 0x10u
#define UDS_NRC_RESPONSE_TOO_LONG 0x14u
#define UDS_NRC_RESPONSE_PENDING 0x78u

int doip_conn_new(DoipServer *s, int fd, DoipConn **ret) {
        DoipConn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = doip_input_init(&c->in, s->o.max_payload);
        if (r < 0) {
                free(c);
                return r;
        }
        doip_reader_set_budget(c->in.reader, &s->budget);
        c->server = s;
        c->fd = fd;
        c->state = CONN_NEW;
        c->version = s->o.version;
        c->inactivity_deadline = doip_deadline(doip_now_usec(), s->o.initial_inactivity_ms);
        *ret = c;
        return 0;
}

DoipConn *doip_conn_free(DoipConn *c) {
        if (!c)
                return NULL;
        if (c->server->driver)
                c->server->driver->remove(c->server, c);
        if (c->fd >= 0)
                (void) close(c->fd);
        doip_input_done(&c->in);
        free(c->out);
        free(c);
        return NULL;
}

void doip_conn_kill(DoipConn *c) {
        c->dead = true;
}

static bool out_queued(const DoipConn *c) {
        return c->out_off < c->out_len;
}

static bool input_paused(const DoipConn *c) {
        return c->request_pending || c->state == CONN_WAIT_ALIVE || out_queued(c);
}

uint32_t doip_conn_events(const DoipConn *c) {
        uint32_t events = 0;

        if (c->dead)
                return 0;
        if (out_queued(c))
                events |= POLLOUT;
        if (c->state == CONN_CLOSING || !input_paused(c))
                events |= POLLIN;
        return events;
}

void doip_conn_update(DoipConn *c) {
        DoipServer *s = c->server;

        if (s->driver && c->source)
                s->driver->update(s, c, doip_conn_events(c));
}

/* Keeps what the socket did not take. */
static int out_append(DoipConn *c, const struct iovec *iov, size_t n_iov) {
        size_t total = 0, queued = c->out_len - c->out_off;

        for (size_t i = 0; i < n_iov; i++)
                total += iov[i].iov_len;
        if (total > (size_t) c->server->o.max_payload + OUT_SLACK - queued)
                return -ENOBUFS;
        if (c->out_off > 0) {
                memmove(c->out, c->out + c->out_off, queued);
                c->out_off = 0;
                c->out_len = queued;
        }
        if (c->out_len + total > c->out_cap) {
                uint8_t *p = realloc(c->out, c->out_len + total);

                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_cap = c->out_len + total;
        }
        for (size_t i = 0; i < n_iov; i++) {
                memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
                c->out_len += iov[i].iov_len;
        }
        return 0;
}

static void conn_send(DoipConn *c, const struct iovec *iov, size_t n_iov) {
        struct iovec copy[2], *v = copy;
        size_t sent = 0;

        if (c->dead || c->shut_wr || n_iov > ELEMENTSOF(copy))
                return;
        memcpy(copy, iov, n_iov * sizeof(*iov));
        if (!out_queued(c)) {
                if (doip_send_some(c->fd, v, n_iov, &sent) < 0) {
                        doip_conn_kill(c);
                        return;
                }
                doip_iov_advance(&v, &n_iov, sent);
        }
        if (n_iov > 0 && out_append(c, v, n_iov) < 0)
                doip_conn_kill(c);
        doip_conn_update(c);
}

static void send_payload(DoipConn *c, const DoipPayload *p) {
        uint8_t buf[64];
        struct iovec iov;
        size_t n;

        if (doip_message_build(buf, sizeof(buf), c->version, p, &n) < 0)
                return;
        iov = (struct iovec) { .iov_base = buf, .iov_len = n };
        conn_send(c, &iov, 1);
}

static void send_diag(DoipConn *c, uint16_t sa, const uint8_t *data, size_t len) {
        uint8_t prefix[DOIP_DIAG_PREFIX_SIZE];
        struct iovec iov[2];

        if (doip_diag_prefix_build(prefix, c->version, sa, c->sa, len) < 0)
                return;
        iov[0] = (struct iovec) { .iov_base = prefix, .iov_len = sizeof(prefix) };
        iov[1] = (struct iovec) { .iov_base = (void *) data, .iov_len = len };
        conn_send(c, iov, 2);
}

static void send_negative_response(DoipConn *c, uint16_t sa, uint8_t sid, uint8_t nrc) {
        const uint8_t nr[3] = { UDS_NEGATIVE_RESPONSE, sid, nrc };

        send_diag(c, sa, nr, sizeof(nr));
}

static void send_generic_nack(DoipConn *c, uint8_t code) {
        DoipPayload p = { .type = DOIP_TYPE_GENERIC_NACK, .nack_code = code };

        c->server->stats.generic_nacks++;
        send_payload(c, &p);
}

static void send_diag_ack(DoipConn *c, const DoipDiagMessage *d, uint16_t type, uint8_t code) {
        DoipPayload p = {
                .type = type,
                .diag_ack = { .source_address = d->target_address, .target_address = d->source_address, .code = code },
        };

        if (type == DOIP_TYPE_DIAG_NACK)
                c->server->stats.diag_nacks++;
        send_payload(c, &p);
}

/* Last message queued: FIN once it is out, close on the tester's FIN. */
static void close_after(DoipConn *c) {
        c->state = CONN_CLOSING;
        c->closing_deadline = doip_deadline(doip_now_usec(), CLOSING_LINGER_MS);
        if (!out_queued(c) && !c->shut_wr) {
                (void) shutdown(c->fd, SHUT_WR);
                c->shut_wr = true;
        }
        doip_conn_update(c);
}

static void routing_reply(DoipConn *c, uint16_t tester, uint8_t code) {
        DoipPayload p = {
                .type = DOIP_TYPE_ROUTING_RESPONSE,
                .routing_response = {
                        .tester_address = tester,
                        .entity_address = c->server->o.logical_address,
                        .code = code,
                },
        };

        send_payload(c, &p);
}

static void routing_deny(DoipConn *c, uint16_t tester, uint8_t code) {
        c->server->stats.routing_denials++;
        routing_reply(c, tester, code);
        close_after(c);
}

static void routing_accept(DoipConn *c, uint16_t tester) {
        DoipServer *s = c->server;

        c->state = CONN_ACTIVE;
        c->sa = tester;
        c->inactivity_deadline = doip_deadline(doip_now_usec(), s->o.general_inactivity_ms);
        s->stats.routing_activations++;
        routing_reply(c, tester, DOIP_RA_SUCCESS);
}

void doip_conn_alive_check(DoipConn *c, uint64_t now) {
        DoipPayload p = { .type = DOIP_TYPE_ALIVE_REQUEST };

        if (c->dead || c->state != CONN_ACTIVE || c->alive_pending)
                return;
        c->alive_pending = true;
        c->alive_deadline = doip_deadline(now, c->server->o.alive_check_ms);
        c->server->stats.alive_requests++;
        send_payload(c, &p);
}

/* The address is active elsewhere, or every socket is taken: ask the
 * others whether they are alive, settle when alive_check_ms is over. */
static void routing_wait_alive(DoipConn *c, const DoipRoutingRequest *ra, DoipConn *other) {
        DoipServer *s = c->server;
        uint64_t now = doip_now_usec();

        c->ra = *ra;
        c->state = CONN_WAIT_ALIVE;
        c->ra_deadline = doip_deadline(now, s->o.alive_check_ms);
        if (other)
                doip_conn_alive_check(other, now);
        else
                for (size_t i = 0; i < s->n_conns; i++)
                        doip_conn_alive_check(s->conns[i], now);
        doip_conn_update(c);
}

static void handle_routing(DoipConn *c, const DoipPayload *p) {
        const DoipRoutingRequest *ra = &p->routing_request;
        DoipServer *s = c->server;
        DoipConn *other;

        c->inactivity_deadline = doip_deadline(doip_now_usec(), s->o.general_inactivity_ms);
        if (ra->source_address < s->o.tester_min || ra->source_address > s->o.tester_max) {
                routing_deny(c, ra->source_address, DOIP_RA_UNKNOWN_SA);
                return;
        }
        if (ra->activation_type != DOIP_ACTIVATION_DEFAULT && ra->activation_type != DOIP_ACTIVATION_WWH_OBD) {
                routing_deny(c, ra->source_address, DOIP_RA_UNSUPPORTED_TYPE);
                return;
        }
        if (c->state == CONN_ACTIVE) {
                if (ra->source_address != c->sa) {
                        routing_deny(c, ra->source_address, DOIP_RA_SA_DIFFERENT);
                        return;
                }
                routing_accept(c, ra->source_address);
                return;
        }
        other = doip_server_find_sa(s, ra->source_address, c);
        if (other || doip_server_n_active(s) >= s->o.max_sockets) {
                routing_wait_alive(c, ra, other);
                return;
        }
        routing_accept(c, ra->source_address);
}

/* The alive checks are over (those that did not answer are gone). */
static void routing_settle(DoipConn *c) {
        DoipServer *s = c->server;
        uint16_t tester = c->ra.source_address;

        c->state = CONN_NEW;
        if (doip_server_find_sa(s, tester, c)) {
                routing_deny(c, tester, DOIP_RA_SA_ACTIVE_ELSEWHERE);
                return;
        }
        if (doip_server_n_active(s) >= s->o.max_sockets) {
                routing_deny(c, tester, DOIP_RA_ALL_SOCKETS_IN_USE);
                return;
        }
        routing_accept(c, tester);
}

static void handle_alive_response(DoipConn *c, const DoipPayload *p) {
        if (c->state != CONN_ACTIVE || p->alive_source_address != c->sa || !c->alive_pending)
                return;
        c->alive_pending = false;
        c->server->stats.alive_responses++;
}

static void send_response(DoipConn *c, uint16_t ta, uint8_t sid, const uint8_t *resp, size_t len) {
        if (len == 0)
                return; /* suppressed positive response */
        if (len > DOIP_MAX_PAYLOAD_LIMIT - DOIP_DIAG_ADDRESSES_SIZE) {
                send_negative_response(c, ta, sid, UDS_NRC_RESPONSE_TOO_LONG);
                return;
        }
        send_diag(c, ta, resp, len);
}

static void send_pending(DoipConn *c) {
        DoipServer *s = c->server;

        s->stats.pending_sent++;
        send_negative_response(c, c->pending_ta, c->pending_sid, UDS_NRC_RESPONSE_PENDING);
        c->pending_next = doip_deadline(doip_now_usec(), s->o.pending_interval_ms);
}

static void call_handler(DoipConn *c, const DoipDiagMessage *d) {
        DoipServer *s = c->server;
        uint8_t *resp = NULL;
        size_t resp_len = 0;
        int r;

        s->stats.requests++;
        r = s->o.on_request(s->o.userdata, c->sa, d->data, d->len, &resp, &resp_len);
        if (r == -EINPROGRESS) {
                free(resp);
                c->request_pending = true;
                c->pending_sid = d->data[0];
                c->pending_ta = d->target_address;
                c->pending_next = USEC_INFINITY;
                if (s->o.pending_interval_ms > 0)
                        send_pending(c);
                doip_conn_update(c);
                return;
        }
        if (r < 0)
                send_negative_response(c, d->target_address, d->data[0], UDS_NRC_GENERAL_REJECT);
        else if (resp)
                send_response(c, d->target_address, d->data[0], resp, resp_len);
        free(resp);
}

static void handle_diag(DoipConn *c, const DoipPayload *p) {
        const DoipDiagMessage *d = &p->diag;
        DoipServer *s = c->server;

        if (c->state != CONN_ACTIVE || d->source_address != c->sa) {
                send_diag_ack(c, d, DOIP_TYPE_DIAG_NACK, DOIP_DIAG_NACK_INVALID_SA);
                close_after(c);
                return;
        }
        if (!doip_server_target_known(s, d->target_address)) {
                send_diag_ack(c, d, DOIP_TYPE_DIAG_NACK, DOIP_DIAG_NACK_UNKNOWN_TA);
                return;
        }
        if (d->len > s->o.max_request) {
                send_diag_ack(c, d, DOIP_TYPE_DIAG_NACK, DOIP_DIAG_NACK_TOO_LARGE);
                return;
        }
        send_diag_ack(c, d, DOIP_TYPE_DIAG_ACK, DOIP_DIAG_ACK_OK);
        call_handler(c, d);
}

static void handle_status(DoipConn *c, uint16_t type) {
        DoipPayload p;

        doip_server_status(c->server, type, &p);
        send_payload(c, &p);
}

static void handle_message(DoipConn *c, const DoipMessage *m) {
        DoipServer *s = c->server;
        DoipPayload p;

        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0) {
                send_generic_nack(c, DOIP_NACK_INVALID_LENGTH); /* the reader checked it already */
                return;
        }
        if (m->version != DOIP_VERSION_DEFAULT)
                c->version = m->version;
        if (c->state == CONN_ACTIVE)
                c->inactivity_deadline = doip_deadline(doip_now_usec(), s->o.general_inactivity_ms);
        switch (m->type) {
        case DOIP_TYPE_ROUTING_REQUEST:
                handle_routing(c, &p);
                return;
        case DOIP_TYPE_ALIVE_RESPONSE:
                handle_alive_response(c, &p);
                return;
        case DOIP_TYPE_DIAG_MESSAGE:
                handle_diag(c, &p);
                return;
        case DOIP_TYPE_ENTITY_STATUS_REQUEST:
        case DOIP_TYPE_POWER_MODE_REQUEST:
                handle_status(c, m->type);
                return;
        case DOIP_TYPE_GENERIC_NACK:
                return; /* the tester's complaint; nothing to answer */
        default: /* UDP-only or entity-to-tester types */
                send_generic_nack(c, DOIP_NACK_UNKNOWN_TYPE);
                return;
        }
}

/* Cuts and handles the messages read, as long as the connection takes them. */
static void process_input(DoipConn *c) {
        c->resume = false;
        while (!c->dead && c->state != CONN_CLOSING && !input_paused(c)) {
                DoipMessage m;
                uint8_t nack = 0;
                int r;

                r = doip_input_next(&c->in, &m, &nack);
                if (r == 0)
                        break;
                if (r > 0) {
                        handle_message(c, &m);
                        continue;
                }
                send_generic_nack(c, nack);
                if (doip_nack_closes(nack))
                        close_after(c);
        }
}

/* Reads once; 0 at EOF. */
static int read_some(DoipConn *c) {
        int r = doip_input_fill(&c->in, c->fd);

        if (r == -EAGAIN)
                return 1;
        return r;
}

static void conn_read(DoipConn *c) {
        int r;

        if (c->state == CONN_CLOSING) {
                /* Dropping what still comes; done at the tester's FIN. */
                c->in.start = c->in.end;
                r = read_some(c);
                c->in.start = c->in.end;
                if (r <= 0)
                        doip_conn_kill(c);
                return;
        }
        if (doip_input_pending(&c->in)) {
                process_input(c);
                return;
        }
        r = read_some(c);
        if (r <= 0) {
                doip_conn_kill(c);
                return;
        }
        process_input(c);
}

static void conn_flush(DoipConn *c) {
        struct iovec iov = { .iov_base = c->out + c->out_off, .iov_len = c->out_len - c->out_off };
        size_t sent;

        if (doip_send_some(c->fd, &iov, 1, &sent) < 0) {
                doip_conn_kill(c);
                return;
        }
        c->out_off += sent;
        if (out_queued(c))
                return;
        c->out_off = c->out_len = 0;
        if (c->state == CONN_CLOSING && !c->shut_wr) {
                (void) shutdown(c->fd, SHUT_WR);
                c->shut_wr = true;
        }
        process_input(c); /* what waited for the output to drain */
}

void doip_conn_io(DoipConn *c, uint32_t revents) {
        if (c->dead)
                return;
        if (revents & POLLERR) {
                doip_conn_kill(c);
                return;
        }
        if ((revents & POLLOUT) && out_queued(c))
                conn_flush(c);
        if (!c->dead && (revents & (POLLIN | POLLHUP))) {
                if (c->state == CONN_CLOSING || !input_paused(c))
                        conn_read(c);
                else if (revents & POLLHUP)
                        doip_conn_kill(c); /* gone while we wait: nobody to answer */
        }
        doip_conn_update(c);
}

static uint64_t min_deadline(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

uint64_t doip_conn_next_deadline(const DoipConn *c) {
        uint64_t d = USEC_INFINITY;

        if (c->dead || (c->resume && c->state != CONN_CLOSING))
                return 0;
        if (c->alive_pending)
                d = min_deadline(d, c->alive_deadline);
        switch (c->state) {
        case CONN_CLOSING:
                return min_deadline(d, c->closing_deadline);
        case CONN_WAIT_ALIVE:
                d = min_deadline(d, c->ra_deadline);
                break;
        default:
                break;
        }
        if (c->request_pending)
                return min_deadline(d, c->pending_next);
        return min_deadline(d, c->inactivity_deadline);
}

static void timers_other(DoipConn *c, uint64_t now) {
        DoipServer *s = c->server;

        if (c->state == CONN_CLOSING) {
                if (now >= c->closing_deadline)
                        doip_conn_kill(c);
                return;
        }
        if (c->request_pending) {
                if (now >= c->pending_next)
                        send_pending(c);
                return;
        }
        if (c->resume)
                process_input(c);
        if (!c->dead && now >= c->inactivity_deadline) {
                if (c->state == CONN_ACTIVE)
                        s->stats.inactivity_timeouts++;
                else
                        s->stats.initial_timeouts++;
                doip_conn_kill(c);
        }
}

void doip_conn_timers(DoipConn *c, uint64_t now, int pass) {
        if (c->dead)
                return;
        switch (pass) {
        case 0:
                if (c->alive_pending && now >= c->alive_deadline)
                        doip_conn_kill(c); /* no answer to our alive check */
                break;
        case 1:
                if (c->state == CONN_WAIT_ALIVE && now >= c->ra_deadline)
                        routing_settle(c);
                break;
        default:
                timers_other(c, now);
                break;
        }
        doip_conn_update(c);
}

int doip_conn_respond(DoipConn *c, const uint8_t *resp, size_t len) {
        if (c->dead || !c->request_pending)
                return -ENOTCONN;
        c->request_pending = false;
        c->inactivity_deadline = doip_deadline(doip_now_usec(), c->server->o.general_inactivity_ms);
        send_response(c, c->pending_ta, c->pending_sid, resp, len);
        c->resume = doip_input_pending(&c->in);
        doip_conn_update(c);
        return 0;
}
