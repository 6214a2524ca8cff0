/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The DoIP tester (ISO 13400-2), as the Primary uses it: one persistent TCP
 * connection per Secondary (DoIP entity), blocking calls with deadlines, for
 * the Primary's worker thread. A DoipClient is not thread-safe; use each one
 * from one thread at a time.
 *
 * doip_client_request() sends one UDS request to a target address and
 * returns the UDS response:
 *   - connects first when there is no connection (TCP_NODELAY, routing
 *     activation with the tester address);
 *   - waits up to ack_timeout_ms for the 0x8002/0x8003 acknowledgement, then
 *     up to the call's timeout for the 0x8001 response from the target;
 *   - a response the pending rule (is_pending, by default
 *     doip_uds_response_pending(): 7F <SID> 78) calls "pending" restarts
 *     the wait with pending_timeout_ms (P2*), every time, but never past
 *     max_pending_ms after the request went out;
 *   - answers alive check requests (0x0007) while it waits, and before
 *     sending handles what the entity sent in between;
 *   - after an error that leaves the connection in doubt (timeouts, I/O,
 *     protocol violations) it closes the connection; the next call connects
 *     again. A request is never resent by the client (UDS requests are not
 *     all idempotent): the caller decides.
 *
 * Errors: -ETIMEDOUT, -ECONNRESET (closed by the entity), -ECONNREFUSED,
 * -EPROTO (a message that breaks the protocol: unexpected type or
 * addresses, response before the ack, a generic NACK that closes),
 * -EBADMSG (a malformed message), -EFBIG (a message over max_payload, or a
 * generic NACK 0x02 from the entity), -EACCES (routing activation denied:
 * doip_client_routing_code() says why), -EBUSY (denied: all sockets in
 * use), -EHOSTUNREACH (diagnostic NACK: unknown target or target
 * unreachable), -EMSGSIZE (diagnostic NACK: message too large), -ENOBUFS
 * (NACK: out of memory), -ENETUNREACH (NACK: unknown network), -EPERM
 * (NACK: invalid source address); doip_client_diag_nack() gives the NACK
 * code. Out-parameters are written only on success.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "doip.h"

/* The UDS responsePending rule (ISO 14229-1): resp is 7F <SID> 78 and, when
 * req is given, SID is the request's. The UDS layer applies the same rule
 * on ISO-TP; it may pass its own function as is_pending. */
bool doip_uds_response_pending(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len);

typedef struct DoipClientOptions {
        const char *address;          /* the entity: numeric IPv4 or IPv6 */
        uint16_t port;                /* default DOIP_PORT */
        uint16_t tester_address;      /* 0x0E00-0x0FFF; default 0x0E80 */
        uint8_t version;              /* DOIP_VERSION_2012 (default) or _2019 */
        uint8_t activation_type;      /* default DOIP_ACTIVATION_DEFAULT */
        uint32_t max_payload;         /* largest message taken; default DOIP_MAX_PAYLOAD_DEFAULT */
        unsigned connect_timeout_ms;  /* TCP connect; default 2000 */
        unsigned ctrl_timeout_ms;     /* routing activation response (A_DoIP_Ctrl); default 2000 */
        unsigned ack_timeout_ms;      /* diagnostic ACK/NACK; default 2000 */
        unsigned response_timeout_ms; /* the response after the ACK (P2 client); default 2000 */
        unsigned pending_timeout_ms;  /* after each pending response (P2*); default 5000 */
        unsigned max_pending_ms;      /* cap on all pending waits of one request; default 600000 */
        bool (*is_pending)(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len);
} DoipClientOptions;

/* Fills in the defaults (address NULL: must be set). */
void doip_client_options_init(DoipClientOptions *o);

typedef struct DoipClient DoipClient;

/* Checks and copies the options (-EINVAL: no address, a tester address out
 * of range, an unknown version, max_payload over DOIP_MAX_PAYLOAD_LIMIT);
 * does not connect yet. */
int doip_client_new(const DoipClientOptions *o, DoipClient **ret);
DoipClient *doip_client_free(DoipClient *c);
void doip_client_freep(DoipClient **c);

/* Connects and activates routing, unless connected already. */
int doip_client_connect(DoipClient *c);
void doip_client_disconnect(DoipClient *c);
bool doip_client_connected(const DoipClient *c);

/* The routing activation response's entity address (after connecting). */
uint16_t doip_client_entity_address(const DoipClient *c);

/*
 * One UDS request (len bytes, 1 to max_payload - 4) to target_address; the
 * UDS response in *ret (free()), *ret_len bytes. timeout_ms bounds the wait
 * for the response after the ACK (0: response_timeout_ms). Pending
 * responses are not returned; negative UDS responses other than pending
 * are (the UDS layer reads them).
 */
int doip_client_request(DoipClient *c, uint16_t target_address, const uint8_t *req, size_t len,
                        unsigned timeout_ms, uint8_t **ret, size_t *ret_len);

/* Codes of the last routing activation response and diagnostic NACK
 * (-1: none yet). */
int doip_client_routing_code(const DoipClient *c);
int doip_client_diag_nack(const DoipClient *c);

/* Counters, for tests and the daemon's report. */
typedef struct DoipClientStats {
        uint64_t connects;        /* TCP connections made */
        uint64_t requests;        /* UDS requests sent */
        uint64_t pending;         /* pending responses seen */
        uint64_t alive_checks;    /* alive check requests answered */
} DoipClientStats;
void doip_client_get_stats(const DoipClient *c, DoipClientStats *ret);

/*
 * UDP vehicle identification (discovery): sends a vehicle identification
 * request (request NULL: the plain one; or a DoipPayload of type 0x0001,
 * 0x0002 with the EID or 0x0003 with the VIN) to address:port (numeric; a
 * broadcast address is allowed) and gathers the responses for timeout_ms,
 * at most max_responses (1-255; returns as soon as that many came).
 * -ETIMEDOUT when none came; answers that are not vehicle identification
 * responses are ignored.
 */
typedef struct DoipDiscovered {
        DoipVehicleAnnouncement announcement;
        uint8_t version;
        struct sockaddr_storage from;
        socklen_t from_len;
} DoipDiscovered;

int doip_discover(const char *address, uint16_t port, uint8_t version, const DoipPayload *request,
                  unsigned timeout_ms, size_t max_responses, DoipDiscovered **ret, size_t *ret_n);
