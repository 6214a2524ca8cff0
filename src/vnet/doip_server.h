/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The DoIP entity (ISO 13400-2), as a Secondary serves it: TCP 13400 for
 * diagnostics and UDP 13400 for vehicle identification, several testers at
 * once, all on one thread without blocking.
 *
 * Driving it: either doip_server_run() (poll(2), one round per call: for
 * tests and small programs), or doip_server_attach_event() (one sd-event
 * I/O source per socket and one timer). Both run the same code.
 *
 * TCP, per connection:
 *   - routing activation: the tester address must be in
 *     [tester_min, tester_max] (else 0x00), the activation type default or
 *     WWH-OBD (else 0x06), one source address per socket (else 0x02); an
 *     address active on another socket, or all max_sockets in use, is
 *     settled by alive checks: sockets that do not answer within
 *     alive_check_ms are closed, else the new one is denied (0x03, 0x01).
 *     A denial closes the socket.
 *   - timers: initial inactivity (routing activation must come within
 *     initial_inactivity_ms of the connect), general inactivity (any
 *     message within general_inactivity_ms).
 *   - header errors get a generic NACK; wrong pattern and invalid length
 *     close the socket, an unknown type, a message over max_payload or over
 *     the shared memory budget are skipped.
 *   - diagnostic messages: a source address not activated on the socket is
 *     NACKed 0x02 and the socket closed; an unknown target address 0x03; a
 *     UDS request over max_request 0x04. Otherwise the ACK goes out first,
 *     then on_request() is called.
 *
 * on_request(userdata, tester_sa, req, len, &resp, &resp_len):
 *   - returns 0 with *resp (malloc()ed, freed by the server) of *resp_len
 *     bytes: sent at once as a diagnostic message from the addressed target
 *     to the tester; *resp_len 0 sends nothing (suppressed response);
 *   - returns -EINPROGRESS for a slow answer: the server sends UDS
 *     responsePending (7F SID 78) at once and every pending_interval_ms
 *     until the program calls doip_server_respond(tester_sa) from the
 *     server's thread (e.g. after a worker thread posted its result to the
 *     loop). The connection reads nothing more until then: UDS has one
 *     request at a time;
 *   - any other negative errno: the tester gets 7F SID 10 (generalReject).
 * The source address identifies the connection (one per socket, one
 * socket per address).
 *
 * UDP: vehicle identification requests (plain; with EID or VIN when they
 * match) are answered to the sender, as are entity status and power mode
 * requests; header errors get a generic NACK; nothing else is answered.
 *
 * Not thread-safe: all calls from the thread that drives the server.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "doip.h"

typedef int (*DoipRequestHandler)(void *userdata, uint16_t tester_sa, const uint8_t *req, size_t len,
                                  uint8_t **resp, size_t *resp_len);

typedef struct DoipServerOptions {
        const char *address;            /* numeric IPv4/IPv6 to listen on; NULL: 0.0.0.0 */
        uint16_t port;                  /* TCP and UDP; default DOIP_PORT; 0: a free port each (tests) */
        bool udp;                       /* the vehicle identification responder; default true */
        uint8_t version;                /* for announcements and replies to version 0xFF; default 0x02 */
        uint16_t logical_address;       /* the entity's address: required, not a tester's */
        const uint16_t *targets;        /* further target addresses served (e.g. behind a gateway) */
        size_t n_targets;               /* at most 64 */
        uint16_t tester_min, tester_max;/* accepted tester addresses; default 0x0E00-0x0FFF */
        uint8_t vin[DOIP_VIN_SIZE];
        uint8_t eid[DOIP_EID_SIZE];
        uint8_t gid[DOIP_GID_SIZE];
        uint8_t further_action;
        uint8_t power_mode;             /* diagnostic power mode; default DOIP_POWER_READY */
        unsigned max_sockets;           /* testers with routing active, 1-255; default 4 */
        uint32_t max_payload;           /* largest message taken; default DOIP_MAX_PAYLOAD_DEFAULT */
        uint32_t max_request;           /* largest UDS request (NACK 0x04 above); default max_payload - 4 */
        size_t memory_budget;           /* payload bytes gathered at once over all sockets (NACK 0x03
                                         * above); default 2 * max_payload */
        unsigned initial_inactivity_ms; /* default 2000 */
        unsigned general_inactivity_ms; /* default 300000 */
        unsigned alive_check_ms;        /* default 500 */
        unsigned pending_interval_ms;   /* responsePending repeat; default 2000; 0: never */
        DoipRequestHandler on_request;  /* required */
        void *userdata;
} DoipServerOptions;

void doip_server_options_init(DoipServerOptions *o);

typedef struct DoipServer DoipServer;

/* Checks the options, binds and listens (-EINVAL, -EADDRINUSE, ...). */
int doip_server_new(const DoipServerOptions *o, DoipServer **ret);
DoipServer *doip_server_free(DoipServer *s);
void doip_server_freep(DoipServer **s);

/* The bound ports (0 for UDP when it is off). */
void doip_server_get_ports(const DoipServer *s, uint16_t *ret_tcp, uint16_t *ret_udp);

/* One round: waits up to timeout_ms (less when a timer is due) and handles
 * what is ready. Not while attached to an sd-event loop (-EBUSY). */
int doip_server_run(DoipServer *s, unsigned timeout_ms);

/* Lets an sd-event loop drive the server (its sources at priority). */
int doip_server_attach_event(DoipServer *s, sd_event *e, int64_t priority);
void doip_server_detach_event(DoipServer *s);

/* Completes the request on_request() left in progress for tester_sa:
 * resp (len bytes, copied; len 0: no response) goes out. -ENOTCONN when
 * that tester has no request in progress (e.g. it went away). */
int doip_server_respond(DoipServer *s, uint16_t tester_sa, const uint8_t *resp, size_t len);

/* Sends an alive check request to every tester with routing active; those
 * that do not answer within alive_check_ms are closed. */
void doip_server_alive_check(DoipServer *s);

/* Sends one vehicle announcement (0x0004) from the UDP socket to
 * address:port (e.g. "255.255.255.255", DOIP_PORT). */
int doip_server_announce(DoipServer *s, const char *address, uint16_t port);

typedef struct DoipServerStats {
        uint64_t accepted;              /* TCP connections accepted */
        uint64_t refused;               /* closed at once: no room at all */
        uint64_t open;                  /* connections open now */
        uint64_t active;                /* of them, with routing active */
        uint64_t routing_activations;   /* successful */
        uint64_t routing_denials;
        uint64_t requests;              /* diagnostic messages handed to on_request */
        uint64_t generic_nacks;         /* sent, TCP and UDP */
        uint64_t diag_nacks;            /* sent */
        uint64_t pending_sent;          /* responsePending sent */
        uint64_t alive_requests;        /* sent */
        uint64_t alive_responses;       /* received */
        uint64_t initial_timeouts;      /* closed: no routing activation in time */
        uint64_t inactivity_timeouts;   /* closed: general inactivity */
        uint64_t udp_answers;           /* vehicle identification, status, power mode */
} DoipServerStats;

void doip_server_get_stats(const DoipServer *s, DoipServerStats *ret);
