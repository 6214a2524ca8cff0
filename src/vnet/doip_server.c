/* SPDX-License-Identifier: MIT */
/* The DoIP entity: options, sockets, accepting, timers, the poll loop (doip_server.h). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doip_internal.h"
#include "doip_server_internal.h"

#define LISTEN_BACKLOG 16
/* Connections accepted per wake-up, datagrams read: others wait their turn. */
#define ACCEPT_BATCH 16
/* Connections past their last message, waiting for the tester's FIN. */
#define CLOSING_SLOTS 4u

void doip_server_options_init(DoipServerOptions *o) {
        *o = (DoipServerOptions) {
                .port = DOIP_PORT,
                .udp = true,
                .version = DOIP_VERSION_2012,
                .tester_min = DOIP_TESTER_MIN,
                .tester_max = DOIP_TESTER_MAX,
                .power_mode = DOIP_POWER_READY,
                .max_sockets = 4,
                .max_payload = DOIP_MAX_PAYLOAD_DEFAULT,
                .initial_inactivity_ms = 2000,
                .general_inactivity_ms = 300000,
                .alive_check_ms = 500,
                .pending_interval_ms = 2000,
        };
}

static bool is_tester_address(uint16_t a) {
        return a >= DOIP_TESTER_MIN && a <= DOIP_TESTER_MAX;
}

static int options_check(const DoipServerOptions *o) {
        if (!o->on_request || o->logical_address == 0 || is_tester_address(o->logical_address))
                return -EINVAL;
        if (o->version != DOIP_VERSION_2012 && o->version != DOIP_VERSION_2019)
                return -EINVAL;
        if (o->max_sockets == 0 || o->max_sockets > 255 || o->tester_min > o->tester_max)
                return -EINVAL;
        if (o->n_targets > DOIP_SERVER_MAX_TARGETS || (o->n_targets > 0 && !o->targets))
                return -EINVAL;
        if (o->max_payload > DOIP_MAX_PAYLOAD_LIMIT || (o->max_payload != 0 && o->max_payload <= DOIP_DIAG_ADDRESSES_SIZE))
                return -EINVAL;
        return 0;
}

/* Fills in what 0 leaves to a default. */
static void options_complete(DoipServerOptions *o) {
        if (o->max_payload == 0)
                o->max_payload = DOIP_MAX_PAYLOAD_DEFAULT;
        if (o->max_request == 0 || o->max_request > o->max_payload - DOIP_DIAG_ADDRESSES_SIZE)
                o->max_request = o->max_payload - DOIP_DIAG_ADDRESSES_SIZE;
        if (o->memory_budget == 0)
                o->memory_budget = 2 * (size_t) o->max_payload;
}

static int bound_port(int fd, uint16_t *ret) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return doip_negative_errno();
        if (ss.ss_family == AF_INET6)
                *ret = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
        else
                *ret = ntohs(((struct sockaddr_in *) &ss)->sin_port);
        return 0;
}

/* A bound socket (listening for TCP) on address:port. */
static int open_socket(const DoipServerOptions *o, int type, uint16_t *ret_port) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_storage sa;
        socklen_t sa_len;
        int one = 1, r;

        r = doip_address_parse(o->address, o->port, &sa, &sa_len);
        if (r < 0)
                return r;
        fd = doip_socket_new(&sa, type);
        if (fd < 0)
                return fd;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return doip_negative_errno();
        if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
                return doip_negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sa_len) < 0)
                return doip_negative_errno();
        if (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)
                return doip_negative_errno();
        r = bound_port(fd, ret_port);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int doip_server_new(const DoipServerOptions *o, DoipServer **ret) {
        _cleanup_(doip_server_freep) DoipServer *s = NULL;
        int r;

        if (!o || !ret)
                return -EINVAL;
        r = options_check(o);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->tcp_fd = s->udp_fd = -1;
        s->o = *o;
        options_complete(&s->o);
        s->o.address = NULL; /* used only here */
        if (o->n_targets > 0)
                memcpy(s->targets, o->targets, o->n_targets * sizeof(uint16_t));
        s->o.targets = s->targets;
        s->budget = s->o.memory_budget;
        s->max_conns = s->o.max_sockets + 1 + CLOSING_SLOTS;
        s->conns = calloc(s->max_conns, sizeof(DoipConn *));
        if (!s->conns)
                return -ENOMEM;
        r = open_socket(o, SOCK_STREAM, &s->tcp_port);
        if (r < 0)
                return r;
        s->tcp_fd = r;
        if (o->udp) {
                r = open_socket(o, SOCK_DGRAM, &s->udp_port);
                if (r < 0)
                        return r;
                s->udp_fd = r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

DoipServer *doip_server_free(DoipServer *s) {
        if (!s)
                return NULL;
        doip_server_detach_event(s);
        for (size_t i = 0; i < s->n_conns; i++)
                doip_conn_free(s->conns[i]);
        free(s->conns);
        if (s->tcp_fd >= 0)
                (void) close(s->tcp_fd);
        if (s->udp_fd >= 0)
                (void) close(s->udp_fd);
        free(s);
        return NULL;
}

void doip_server_freep(DoipServer **s) {
        *s = doip_server_free(*s);
}

void doip_server_get_ports(const DoipServer *s, uint16_t *ret_tcp, uint16_t *ret_udp) {
        if (ret_tcp)
                *ret_tcp = s->tcp_port;
        if (ret_udp)
                *ret_udp = s->udp_port;
}

bool doip_server_target_known(const DoipServer *s, uint16_t ta) {
        if (ta == s->o.logical_address)
                return true;
        for (size_t i = 0; i < s->o.n_targets; i++)
                if (s->targets[i] == ta)
                        return true;
        return false;
}

static bool conn_gone(const DoipConn *c) {
        return c->dead || c->state == CONN_CLOSING;
}

static size_t n_open(const DoipServer *s) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_conns; i++)
                n += !conn_gone(s->conns[i]);
        return n;
}

void doip_server_status(const DoipServer *s, uint16_t request_type, DoipPayload *ret) {
        if (request_type == DOIP_TYPE_POWER_MODE_REQUEST) {
                *ret = (DoipPayload) { .type = DOIP_TYPE_POWER_MODE, .power_mode = s->o.power_mode };
                return;
        }
        *ret = (DoipPayload) {
                .type = DOIP_TYPE_ENTITY_STATUS,
                .entity_status = {
                        .node_type = DOIP_NODE_NODE,
                        .max_sockets = (uint8_t) s->o.max_sockets,
                        .open_sockets = (uint8_t) DOIP_MIN(n_open(s), 255u),
                        .has_max_data_size = true,
                        .max_data_size = s->o.max_payload + DOIP_HEADER_SIZE,
                },
        };
}

static bool conn_active(const DoipConn *c) {
        return !c->dead && c->state == CONN_ACTIVE;
}

DoipConn *doip_server_find_sa(const DoipServer *s, uint16_t sa, const DoipConn *except) {
        for (size_t i = 0; i < s->n_conns; i++)
                if (s->conns[i] != except && conn_active(s->conns[i]) && s->conns[i]->sa == sa)
                        return s->conns[i];
        return NULL;
}

size_t doip_server_n_active(const DoipServer *s) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_conns; i++)
                n += conn_active(s->conns[i]);
        return n;
}

/* Room for one more connection: testers (with or without routing) count up
 * to max_sockets + 1 (one more, to be told "all sockets in use"); sockets
 * on their way out have CLOSING_SLOTS more, and the oldest of them goes
 * now when those are taken too. */
static bool make_room(DoipServer *s) {
        if (n_open(s) >= (size_t) s->o.max_sockets + 1)
                return false;
        if (s->n_conns < s->max_conns)
                return true;
        for (size_t i = 0; i < s->n_conns; i++)
                if (conn_gone(s->conns[i])) {
                        doip_conn_free(s->conns[i]);
                        memmove(s->conns + i, s->conns + i + 1, (s->n_conns - i - 1) * sizeof(DoipConn *));
                        s->n_conns--;
                        return true;
                }
        return false;
}

static void add_conn(DoipServer *s, int fd) {
        DoipConn *c;

        if (!make_room(s) || doip_set_nodelay(fd) < 0 || doip_conn_new(s, fd, &c) < 0) {
                s->stats.refused++;
                (void) close(fd);
                return;
        }
        if (s->driver && s->driver->add(s, c) < 0) {
                c->fd = -1;
                doip_conn_free(c);
                s->stats.refused++;
                (void) close(fd);
                return;
        }
        s->conns[s->n_conns++] = c;
        s->stats.accepted++;
}

void doip_server_accept(DoipServer *s) {
        for (int i = 0; i < ACCEPT_BATCH; i++) {
                int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd < 0)
                        return; /* EAGAIN, or an aborted connection: nothing to do */
                add_conn(s, fd);
        }
}

void doip_server_timers(DoipServer *s) {
        uint64_t now = doip_now_usec();

        /* Unanswered alive checks first: routing activations waiting for
         * them are settled by what is left. */
        for (int pass = 0; pass < 3; pass++)
                for (size_t i = 0; i < s->n_conns; i++)
                        doip_conn_timers(s->conns[i], now, pass);
}

static uint64_t next_deadline(const DoipServer *s) {
        uint64_t d = USEC_INFINITY;

        for (size_t i = 0; i < s->n_conns; i++)
                d = DOIP_MIN(d, doip_conn_next_deadline(s->conns[i]));
        return d;
}

static void sweep(DoipServer *s) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_conns; i++) {
                if (s->conns[i]->dead)
                        doip_conn_free(s->conns[i]);
                else
                        s->conns[n++] = s->conns[i];
        }
        s->n_conns = n;
}

void doip_server_after(DoipServer *s) {
        sweep(s);
        if (s->driver)
                s->driver->timer(s, next_deadline(s));
}

static int poll_timeout(const DoipServer *s, unsigned timeout_ms) {
        uint64_t now = doip_now_usec(), d = next_deadline(s);
        uint64_t ms = timeout_ms;

        if (d != USEC_INFINITY)
                ms = DOIP_MIN(ms, d <= now ? 0 : (d - now + 999) / USEC_PER_MSEC);
        return (int) DOIP_MIN(ms, (uint64_t) INT32_MAX);
}

int doip_server_run(DoipServer *s, unsigned timeout_ms) {
        _cleanup_free_ struct pollfd *p = NULL;
        _cleanup_free_ DoipConn **conns = NULL;
        size_t n;
        int k;

        if (!s)
                return -EINVAL;
        if (s->driver)
                return -EBUSY;
        n = s->n_conns;
        p = calloc(n + 2, sizeof(*p));
        conns = calloc(n + 1, sizeof(*conns));
        if (!p || !conns)
                return -ENOMEM;
        p[0] = (struct pollfd) { .fd = s->tcp_fd, .events = POLLIN };
        p[1] = (struct pollfd) { .fd = s->udp_fd, .events = POLLIN }; /* -1: ignored */
        for (size_t i = 0; i < n; i++) {
                conns[i] = s->conns[i];
                p[i + 2] = (struct pollfd) { .fd = conns[i]->fd, .events = (short) doip_conn_events(conns[i]) };
        }
        k = poll(p, n + 2, poll_timeout(s, timeout_ms));
        if (k < 0 && errno != EINTR)
                return doip_negative_errno();
        /* Connections first: accepting may not move the ones polled. */
        for (size_t i = 0; k > 0 && i < n; i++)
                if (p[i + 2].revents)
                        doip_conn_io(conns[i], (uint32_t) p[i + 2].revents);
        if (k > 0 && p[0].revents)
                doip_server_accept(s);
        if (k > 0 && p[1].revents)
                doip_server_udp(s);
        doip_server_timers(s);
        doip_server_after(s);
        return 0;
}

int doip_server_respond(DoipServer *s, uint16_t tester_sa, const uint8_t *resp, size_t len) {
        DoipConn *c;
        int r;

        if (!s || (len > 0 && !resp))
                return -EINVAL;
        c = doip_server_find_sa(s, tester_sa, NULL);
        if (!c)
                return -ENOTCONN;
        r = doip_conn_respond(c, resp, len);
        if (s->driver)
                s->driver->timer(s, next_deadline(s)); /* the input it held back */
        return r;
}

void doip_server_alive_check(DoipServer *s) {
        uint64_t now = doip_now_usec();

        for (size_t i = 0; i < s->n_conns; i++)
                doip_conn_alive_check(s->conns[i], now);
        if (s->driver)
                s->driver->timer(s, next_deadline(s));
}

void doip_server_get_stats(const DoipServer *s, DoipServerStats *ret) {
        DoipServerStats st = s->stats;

        st.open = n_open(s);
        st.active = doip_server_n_active(s);
        *ret = st;
}
