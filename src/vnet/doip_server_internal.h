/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The DoIP entity's parts, shared by its sources (not for users):
 *   doip_server.c        options, sockets, accepting, timers, the poll loop
 *   doip_server_conn.c   one tester connection: messages, routing
 *                        activation, diagnostic messages, output queue
 *   doip_server_udp.c    vehicle identification on UDP
 *   doip_server_event.c  sd-event sources
 *
 * Connections that fail are marked dead and freed by doip_server_after()
 * once the event at hand is handled, so no handler frees what its caller
 * still uses. Events are poll(2) bits, which are the epoll ones.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "doip_io.h"
#include "doip_server.h"

#define DOIP_SERVER_MAX_TARGETS 64u

typedef enum ConnState {
        CONN_NEW,        /* connected, no routing activation yet */
        CONN_WAIT_ALIVE, /* routing activation waits for alive checks of others */
        CONN_ACTIVE,     /* routing active for sa */
        CONN_CLOSING,    /* last message out, then FIN, then close */
} ConnState;

typedef struct DoipConn {
        DoipServer *server;
        int fd;
        ConnState state;
        bool dead;
        uint16_t sa;
        uint8_t version;          /* the tester's: replies use it */
        DoipInput in;
        uint8_t *out;             /* bytes not yet sent: out[out_off..out_len) */
        size_t out_len, out_off, out_cap;
        bool shut_wr;
        uint64_t inactivity_deadline;
        uint64_t closing_deadline;
        DoipRoutingRequest ra;    /* CONN_WAIT_ALIVE: the request to settle */
        uint64_t ra_deadline;
        bool alive_pending;       /* an alive check of ours is unanswered */
        uint64_t alive_deadline;
        bool request_pending;     /* on_request() returned -EINPROGRESS */
        uint8_t pending_sid;
        uint16_t pending_ta;
        uint64_t pending_next;    /* next responsePending */
        bool resume;              /* read input waits since the request ended */
        sd_event_source *source;
} DoipConn;

typedef struct DoipServerDriver {
        int (*add)(DoipServer *s, DoipConn *c);
        void (*remove)(DoipServer *s, DoipConn *c);
        void (*update)(DoipServer *s, DoipConn *c, uint32_t events);
        void (*timer)(DoipServer *s, uint64_t deadline);
} DoipServerDriver;

struct DoipServer {
        DoipServerOptions o;
        uint16_t targets[DOIP_SERVER_MAX_TARGETS];
        int tcp_fd, udp_fd;
        uint16_t tcp_port, udp_port;
        DoipConn **conns;
        size_t n_conns, max_conns;
        size_t budget;            /* what the readers may still gather */
        DoipServerStats stats;
        const DoipServerDriver *driver;
        sd_event *event;
        sd_event_source *tcp_source, *udp_source, *timer_source;
        int64_t priority;
};

/* doip_server.c */
bool doip_server_target_known(const DoipServer *s, uint16_t ta);
DoipConn *doip_server_find_sa(const DoipServer *s, uint16_t sa, const DoipConn *except);
size_t doip_server_n_active(const DoipServer *s);
/* The entity status (0x4001) or power mode (0x4003) answer. */
void doip_server_status(const DoipServer *s, uint16_t request_type, DoipPayload *ret);
void doip_server_accept(DoipServer *s);
void doip_server_timers(DoipServer *s);
void doip_server_after(DoipServer *s);

/* doip_server_udp.c */
void doip_server_udp(DoipServer *s);

/* doip_server_conn.c */
int doip_conn_new(DoipServer *s, int fd, DoipConn **ret);
DoipConn *doip_conn_free(DoipConn *c);
uint32_t doip_conn_events(const DoipConn *c);
void doip_conn_update(DoipConn *c);
void doip_conn_io(DoipConn *c, uint32_t revents);
uint64_t doip_conn_next_deadline(const DoipConn *c);
/* pass 0: unanswered alive checks; 1: routing activations waiting for
 * them; 2: everything else. */
void doip_conn_timers(DoipConn *c, uint64_t now, int pass);
void doip_conn_alive_check(DoipConn *c, uint64_t now);
int doip_conn_respond(DoipConn *c, const uint8_t *resp, size_t len);
void doip_conn_kill(DoipConn *c);

/* doip_server_event.c */
extern const DoipServerDriver doip_server_event_driver;
