/* SPDX-License-Identifier: MIT */
/* The DoIP tester: connection, routing activation, UDS requests (doip_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doip_client.h"
#include "doip_internal.h"
#include "doip_io.h"

#define UDS_NEGATIVE_RESPONSE 0x7Fu
#define UDS_NRC_RESPONSE_PENDING 0x78u

/* Internal: an error that leaves the connection usable (the entity refused
 * this one message); c->soft_error says which. */
#define SOFT_ERROR 2

/* Messages handled between two requests, at most (alive checks). */
#define DRAIN_MAX 16

struct DoipClient {
        DoipClientOptions o;
        char *address;
        struct sockaddr_storage sa;
        socklen_t sa_len;
        int fd;
        DoipInput in;
        uint16_t entity_address;
        int routing_code, diag_nack, soft_error;
        DoipClientStats stats;
};

bool doip_uds_response_pending(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len) {
        if (!resp || resp_len < 3 || resp[0] != UDS_NEGATIVE_RESPONSE || resp[2] != UDS_NRC_RESPONSE_PENDING)
                return false;
        return !req || req_len == 0 || resp[1] == req[0];
}

void doip_client_options_init(DoipClientOptions *o) {
        *o = (DoipClientOptions) {
                .port = DOIP_PORT,
                .tester_address = 0x0E80,
                .version = DOIP_VERSION_2012,
                .activation_type = DOIP_ACTIVATION_DEFAULT,
                .max_payload = DOIP_MAX_PAYLOAD_DEFAULT,
                .connect_timeout_ms = 2000,
                .ctrl_timeout_ms = 2000,
                .ack_timeout_ms = 2000,
                .response_timeout_ms = 2000,
                .pending_timeout_ms = 5000,
                .max_pending_ms = 600000,
                .is_pending = doip_uds_response_pending,
        };
}

static int options_check(const DoipClientOptions *o) {
        if (!o->address || o->tester_address < DOIP_TESTER_MIN || o->tester_address > DOIP_TESTER_MAX)
                return -EINVAL;
        if (o->version != DOIP_VERSION_2012 && o->version != DOIP_VERSION_2019)
                return -EINVAL;
        if (o->max_payload > DOIP_MAX_PAYLOAD_LIMIT || (o->max_payload != 0 && o->max_payload <= DOIP_DIAG_ADDRESSES_SIZE))
                return -EINVAL;
        return 0;
}

int doip_client_new(const DoipClientOptions *o, DoipClient **ret) {
        _cleanup_(doip_client_freep) DoipClient *c = NULL;
        int r;

        if (!o || !ret)
                return -EINVAL;
        r = options_check(o);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->routing_code = c->diag_nack = -1;
        c->o = *o;
        if (c->o.max_payload == 0)
                c->o.max_payload = DOIP_MAX_PAYLOAD_DEFAULT;
        if (!c->o.is_pending)
                c->o.is_pending = doip_uds_response_pending;
        c->address = strdup(o->address);
        if (!c->address)
                return -ENOMEM;
        c->o.address = c->address;
        r = doip_address_parse(c->address, o->port, &c->sa, &c->sa_len);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

DoipClient *doip_client_free(DoipClient *c) {
        if (!c)
                return NULL;
        doip_client_disconnect(c);
        free(c->address);
        free(c);
        return NULL;
}

void doip_client_freep(DoipClient **c) {
        *c = doip_client_free(*c);
}

void doip_client_disconnect(DoipClient *c) {
        if (c->fd >= 0)
                (void) close(c->fd);
        c->fd = -1;
        if (c->in.reader)
                doip_input_done(&c->in);
}

bool doip_client_connected(const DoipClient *c) {
        return c->fd >= 0;
}

uint16_t doip_client_entity_address(const DoipClient *c) {
        return c->entity_address;
}

int doip_client_routing_code(const DoipClient *c) {
        return c->routing_code;
}

int doip_client_diag_nack(const DoipClient *c) {
        return c->diag_nack;
}

void doip_client_get_stats(const DoipClient *c, DoipClientStats *ret) {
        *ret = c->stats;
}

/* Closes the connection and passes the error on. */
static int fail(DoipClient *c, int r) {
        doip_client_disconnect(c);
        return r;
}

static int send_payload(DoipClient *c, const DoipPayload *p, uint64_t deadline) {
        uint8_t buf[64];
        struct iovec iov;
        size_t n;
        int r;

        r = doip_message_build(buf, sizeof(buf), c->o.version, p, &n);
        if (r < 0)
                return r;
        iov = (struct iovec) { .iov_base = buf, .iov_len = n };
        return doip_send_all(c->fd, &iov, 1, deadline);
}

/* A header we refuse: tell the entity (best effort), then the error. */
static int refuse_header(DoipClient *c, int r, uint8_t nack) {
        DoipPayload p = { .type = DOIP_TYPE_GENERIC_NACK, .nack_code = nack };

        (void) send_payload(c, &p, doip_deadline(doip_now_usec(), 100));
        switch (r) {
        case -EFBIG:
        case -ENOMEM:
                return r;
        case -EOPNOTSUPP:
                return -EPROTO;
        default:
                return -EBADMSG;
        }
}

static bool expired(uint64_t deadline) {
        return doip_now_usec() >= deadline;
}

/* The next message before the deadline: 1, or a negative errno. Bytes that
 * trickle in do not hold it past the deadline (slow retrieval); deadline 0
 * takes what is there already. */
static int receive(DoipClient *c, uint64_t deadline, DoipMessage *ret) {
        for (bool read = false;; read = true) {
                uint8_t nack = 0;
                int r;

                r = doip_input_next(&c->in, ret, &nack);
                if (r > 0)
                        return 1;
                if (r < 0)
                        return refuse_header(c, r, nack);
                if (read && expired(deadline))
                        return -ETIMEDOUT;
                r = doip_wait(c->fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                r = doip_input_fill(&c->in, c->fd);
                if (r == 0)
                        return -ECONNRESET;
                if (r < 0 && r != -EAGAIN)
                        return r;
        }
}

static int generic_nack_error(DoipClient *c, const DoipMessage *m) {
        DoipPayload p;

        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0)
                return -EBADMSG;
        switch (p.nack_code) {
        case DOIP_NACK_TOO_LARGE:
                c->soft_error = -EFBIG;
                return SOFT_ERROR;
        case DOIP_NACK_OUT_OF_MEMORY:
                c->soft_error = -ENOBUFS;
                return SOFT_ERROR;
        default: /* our message broke its rules: start afresh */
                return -EPROTO;
        }
}

/* Messages the entity may send at any time: 1 handled, 0 not ours,
 * SOFT_ERROR or a negative errno. */
static int handle_control(DoipClient *c, const DoipMessage *m) {
        DoipPayload p = { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = c->o.tester_address };
        int r;

        switch (m->type) {
        case DOIP_TYPE_ALIVE_REQUEST:
                r = send_payload(c, &p, doip_deadline(doip_now_usec(), c->o.ctrl_timeout_ms));
                if (r < 0)
                        return r;
                c->stats.alive_checks++;
                return 1;
        case DOIP_TYPE_GENERIC_NACK:
                return generic_nack_error(c, m);
        default:
                return 0;
        }
}

static int routing_error(uint8_t code) {
        switch (code) {
        case DOIP_RA_ALL_SOCKETS_IN_USE:
                return -EBUSY;
        case DOIP_RA_UNSUPPORTED_TYPE:
        case DOIP_RA_TLS_REQUIRED:
                return -EOPNOTSUPP;
        default:
                return -EACCES;
        }
}

/* One routing activation response: 0 activated, 1 wait for the next one
 * (confirmation pending), or a negative errno. */
static int routing_response(DoipClient *c, const DoipMessage *m) {
        DoipPayload p;

        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0)
                return -EBADMSG;
        if (p.routing_response.tester_address != c->o.tester_address)
                return -EPROTO;
        c->routing_code = p.routing_response.code;
        if (p.routing_response.code == DOIP_RA_CONFIRMATION_PENDING)
                return 1;
        if (p.routing_response.code != DOIP_RA_SUCCESS)
                return routing_error(p.routing_response.code);
        c->entity_address = p.routing_response.entity_address;
        return 0;
}

static int activate_routing(DoipClient *c) {
        DoipPayload p = {
                .type = DOIP_TYPE_ROUTING_REQUEST,
                .routing_request = {
                        .source_address = c->o.tester_address,
                        .activation_type = c->o.activation_type,
                },
        };
        uint64_t deadline = doip_deadline(doip_now_usec(), c->o.ctrl_timeout_ms);
        DoipMessage m;
        int r;

        r = send_payload(c, &p, deadline);
        while (r >= 0) {
                r = receive(c, deadline, &m);
                if (r < 0)
                        return r;
                r = handle_control(c, &m);
                if (r == SOFT_ERROR)
                        return c->soft_error;
                if (r == 0) {
                        if (m.type != DOIP_TYPE_ROUTING_RESPONSE)
                                return -EPROTO;
                        r = routing_response(c, &m);
                        if (r <= 0)
                                return r;
                }
                /* An alive check, or confirmation pending: on, but not past the deadline. */
                if (r > 0 && expired(deadline))
                        return -ETIMEDOUT;
        }
        return r;
}

static int tcp_connect(DoipClient *c) {
        _cleanup_close_ int fd = -1;
        int r, err = 0;
        socklen_t len = sizeof(err);

        fd = doip_socket_new(&c->sa, SOCK_STREAM);
        if (fd < 0)
                return fd;
        r = doip_set_nodelay(fd);
        if (r < 0)
                return r;
        if (connect(fd, (struct sockaddr *) &c->sa, c->sa_len) < 0) {
                if (errno != EINPROGRESS)
                        return doip_negative_errno();
                r = doip_wait(fd, POLLOUT, doip_deadline(doip_now_usec(), c->o.connect_timeout_ms));
                if (r < 0)
                        return r;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        return doip_negative_errno();
                if (err != 0)
                        return -err;
        }
        return TAKE_FD(fd);
}

int doip_client_connect(DoipClient *c) {
        int r;

        if (!c)
                return -EINVAL;
        if (c->fd >= 0)
                return 0;
        r = doip_input_init(&c->in, c->o.max_payload);
        if (r < 0)
                return r;
        r = tcp_connect(c);
        if (r < 0)
                return fail(c, r);
        c->fd = r;
        c->stats.connects++;
        r = activate_routing(c);
        if (r < 0)
                return fail(c, r);
        return 0;
}

/* Before a request: what the entity sent while we were away (alive check
 * requests, its closing). 0 when the connection is usable. */
static int drain(DoipClient *c) {
        DoipMessage m;
        int r;

        for (int i = 0; i < DRAIN_MAX; i++) {
                r = receive(c, /* deadline= */ 0, &m);
                if (r == -ETIMEDOUT)
                        return 0;
                if (r < 0)
                        return r;
                r = handle_control(c, &m);
                if (r == 0 || r == SOFT_ERROR)
                        return -EPROTO; /* nothing else may come unasked */
                if (r < 0)
                        return r;
        }
        return -EPROTO; /* more than any tester needs to answer */
}

static int send_request(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len) {
        uint8_t prefix[DOIP_DIAG_PREFIX_SIZE];
        struct iovec iov[2];
        int r;

        r = doip_diag_prefix_build(prefix, c->o.version, c->o.tester_address, ta, len);
        if (r < 0)
                return r;
        iov[0] = (struct iovec) { .iov_base = prefix, .iov_len = sizeof(prefix) };
        iov[1] = (struct iovec) { .iov_base = (void *) req, .iov_len = len };
        r = doip_send_all(c->fd, iov, 2, doip_deadline(doip_now_usec(), c->o.ack_timeout_ms));
        if (r < 0)
                return r;
        c->stats.requests++;
        return 0;
}

static int diag_nack_error(uint8_t code) {
        switch (code) {
        case DOIP_DIAG_NACK_INVALID_SA:    return -EPERM;
        case DOIP_DIAG_NACK_UNKNOWN_TA:
        case DOIP_DIAG_NACK_UNREACHABLE:   return -EHOSTUNREACH;
        case DOIP_DIAG_NACK_TOO_LARGE:     return -EMSGSIZE;
        case DOIP_DIAG_NACK_OUT_OF_MEMORY: return -ENOBUFS;
        case DOIP_DIAG_NACK_UNKNOWN_NET:   return -ENETUNREACH;
        default:                           return -EPROTO;
        }
}

/* The ACK (0) or NACK (SOFT_ERROR) of our request to ta. */
static int diag_ack(DoipClient *c, uint16_t ta, const DoipMessage *m) {
        DoipPayload p;

        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0)
                return -EBADMSG;
        if (p.diag_ack.source_address != ta || p.diag_ack.target_address != c->o.tester_address)
                return -EPROTO;
        if (m->type == DOIP_TYPE_DIAG_ACK)
                return 0;
        c->diag_nack = p.diag_ack.code;
        c->soft_error = diag_nack_error(p.diag_ack.code);
        /* An invalid source address closes the socket on the entity's side. */
        return p.diag_ack.code == DOIP_DIAG_NACK_INVALID_SA ? c->soft_error : SOFT_ERROR;
}

/* The next message by deadline that is not the entity's control traffic
 * (alive checks are answered on the way): 0 with *m, SOFT_ERROR or a
 * negative errno. */
static int receive_diag(DoipClient *c, uint64_t deadline, DoipMessage *m) {
        int r;

        for (;;) {
                r = receive(c, deadline, m);
                if (r < 0)
                        return r;
                r = handle_control(c, m);
                if (r <= 0 || r == SOFT_ERROR)
                        return r;
                if (expired(deadline))
                        return -ETIMEDOUT;
        }
}

static int wait_ack(DoipClient *c, uint16_t ta) {
        uint64_t deadline = doip_deadline(doip_now_usec(), c->o.ack_timeout_ms);
        DoipMessage m;
        int r;

        r = receive_diag(c, deadline, &m);
        if (r != 0)
                return r;
        if (m.type != DOIP_TYPE_DIAG_ACK && m.type != DOIP_TYPE_DIAG_NACK)
                return -EPROTO; /* also a response before its ACK */
        return diag_ack(c, ta, &m);
}

/* A diagnostic message of the response: 1 pending, 0 final. */
static int response_check(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len,
                          const DoipMessage *m, DoipDiagMessage *ret) {
        DoipPayload p;

        if (m->type != DOIP_TYPE_DIAG_MESSAGE)
                return -EPROTO;
        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0)
                return -EBADMSG;
        if (p.diag.source_address != ta || p.diag.target_address != c->o.tester_address)
                return -EPROTO;
        *ret = p.diag;
        return c->o.is_pending(req, len, p.diag.data, p.diag.len) ? 1 : 0;
}

static int wait_response(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len, unsigned timeout_ms,
                         uint8_t **ret, size_t *ret_len) {
        uint64_t now = doip_now_usec(), cap = doip_deadline(now, c->o.max_pending_ms);
        uint64_t deadline = doip_deadline(now, timeout_ms);
        DoipDiagMessage d;
        DoipMessage m;
        uint8_t *copy;
        int r;

        for (;;) {
                r = receive_diag(c, deadline, &m);
                if (r != 0)
                        return r;
                r = response_check(c, ta, req, len, &m, &d);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                c->stats.pending++;
                deadline = DOIP_MIN(cap, doip_deadline(doip_now_usec(), c->o.pending_timeout_ms));
        }
        copy = malloc(d.len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, d.data, d.len);
        *ret = copy;
        *ret_len = d.len;
        return 0;
}

static int request_connected(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len, unsigned timeout_ms,
                             uint8_t **ret, size_t *ret_len) {
        int r;

        r = send_request(c, ta, req, len);
        if (r < 0)
                return r;
        r = wait_ack(c, ta);
        if (r != 0)
                return r;
        return wait_response(c, ta, req, len, timeout_ms ? timeout_ms : c->o.response_timeout_ms, ret, ret_len);
}

int doip_client_request(DoipClient *c, uint16_t target_address, const uint8_t *req, size_t len,
                        unsigned timeout_ms, uint8_t **ret, size_t *ret_len) {
        int r;

        if (!c || !req || len == 0 || !ret || !ret_len || len > c->o.max_payload - DOIP_DIAG_ADDRESSES_SIZE)
                return -EINVAL;
        if (c->fd >= 0) {
                r = drain(c);
                if (r < 0)
                        doip_client_disconnect(c); /* e.g. closed while idle: connect again */
        }
        r = doip_client_connect(c);
        if (r < 0)
                return r;
        r = request_connected(c, target_address, req, len, timeout_ms, ret, ret_len);
        if (r == SOFT_ERROR)
                return c->soft_error;
        if (r < 0)
                return fail(c, r);
        return 0;
}
