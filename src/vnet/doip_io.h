/* SPDX-License-Identifier: MIT */
#pragma once

/* Socket helpers of the DoIP client, discovery and server (not for users of
 * the library). Sockets are non-blocking; deadlines are doip_now_usec()
 * values (USEC_INFINITY: none). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "doip_reader.h"

/* A numeric IPv4 or IPv6 address (no name lookups in a vehicle); NULL or
 * "" is the IPv4 wildcard. -EINVAL when it is not an address. */
int doip_address_parse(const char *host, uint16_t port, struct sockaddr_storage *ret, socklen_t *ret_len);

/* A new non-blocking, close-on-exec socket of the address's family. */
int doip_socket_new(const struct sockaddr_storage *sa, int type);

int doip_set_nodelay(int fd);

/* Polls fd for events until the deadline: 0 when ready (also on
 * POLLERR/POLLHUP: the next call tells), -ETIMEDOUT. */
int doip_wait(int fd, short events, uint64_t deadline);

/* Sends what it can without waiting: the number of bytes (0 when the socket
 * is full), or a negative errno. Never raises SIGPIPE. */
int doip_send_some(int fd, const struct iovec *iov, size_t n_iov, size_t *ret_sent);

/* Drops n bytes from the front of an I/O vector (a copy the caller owns). */
void doip_iov_advance(struct iovec **iov, size_t *n_iov, size_t n);

/* Sends everything before the deadline (-ETIMEDOUT after). */
int doip_send_all(int fd, const struct iovec *iov, size_t n_iov, uint64_t deadline);

/* Received bytes waiting to be cut into messages. */
typedef struct DoipInput {
        DoipReader *reader;
        uint8_t *buf;
        size_t size, start, end;
} DoipInput;

int doip_input_init(DoipInput *in, uint32_t max_payload);
void doip_input_done(DoipInput *in);

/* One read(2) into the buffer, which must be consumed (doip_input_next()
 * returned 0): the number of bytes, 0 at EOF, -EAGAIN, or a negative errno. */
int doip_input_fill(DoipInput *in, int fd);

/* The next complete message from what was read, as doip_reader_feed(). */
int doip_input_next(DoipInput *in, DoipMessage *ret, uint8_t *reterr_nack);

/* Whether bytes read are still to be cut. */
bool doip_input_pending(const DoipInput *in);
